// A read-only transaction stops writes to tables, not what a privileged role can do without writing one:
// `copy (select 1) to program '...'` runs a shell command on the database host, pg_reload_conf() and
// pg_cancel_backend() act on the server. So a demand query must run as a role that cannot do those.
import type { PoolClient } from 'pg';

/** Predefined roles whose members reach outside the database (files, programs, other sessions). */
export const RISKY_ROLES = [
  'pg_execute_server_program',
  'pg_read_server_files',
  'pg_write_server_files',
  'pg_signal_backend',
] as const;

/** Functions only superusers may call unless EXECUTE was granted; a grant makes the role privileged too. */
export const RISKY_FUNCTIONS = [
  'pg_reload_conf()',
  'pg_rotate_logfile()',
  'lo_export(oid,text)',
  'lo_import(text)',
  'pg_read_file(text)',
  'pg_read_binary_file(text)',
  'pg_ls_dir(text)',
] as const;

// to_regrole/to_regprocedure give NULL for what an older server lacks, so the check never fails on it.
// Superuser counts through membership too: a member of a superuser role can SET ROLE to it.
const QUERY = `select current_user as role,
  exists (select 1 from pg_roles r where r.rolsuper and pg_has_role(current_user, r.oid, 'MEMBER')) as superuser,
  array(select p from unnest($1::text[]) p
        where coalesce(pg_has_role(current_user, to_regrole(p)::oid, 'MEMBER'), false)) as roles,
  array(select f from unnest($2::text[]) f
        where coalesce(has_function_privilege(to_regprocedure(f)::oid, 'EXECUTE'), false)) as functions`;

interface Row {
  readonly role: string;
  readonly superuser: boolean;
  readonly roles: string[];
  readonly functions: string[];
}

/**
 * Why the connection's role may not run demand queries, or undefined when it holds none of the risky
 * privileges. The message says what to do instead.
 */
export async function privilegeRefusal(client: PoolClient): Promise<string | undefined> {
  let row: Row | undefined;
  try {
    row = (await client.query<Row>(QUERY, [RISKY_ROLES, RISKY_FUNCTIONS])).rows[0];
  } catch (error) {
    // The SQLSTATE stays on the error, so a broken connection is still told from an SQL error.
    const e = error as Error & { code?: string };
    throw Object.assign(new Error(`could not check the role's privileges: ${e.message}`), { code: e.code });
  }
  if (!row) throw new Error("could not check the role's privileges: no answer");
  const what: string[] = [];
  if (row.superuser) what.push('is a superuser');
  else {
    if (row.roles.length > 0) what.push(`is a member of ${row.roles.join(', ')}`);
    if (row.functions.length > 0) what.push(`may execute ${row.functions.join(', ')}`);
  }
  if (what.length === 0) return undefined;
  return (
    `refused to run the query as role "${row.role}", which ${what.join(' and ')}: a read-only ` +
    'transaction does not stop such a role from running programs or signalling the server. Connect as a ' +
    'role with only SELECT on what the query reads (CREATE ROLE scaler LOGIN; GRANT SELECT ON jobs TO ' +
    'scaler), or set allowPrivileged: true on the source'
  );
}

/** A refusal is not a broken connection: the connection is kept, and the verdict with it. */
export class PrivilegedRoleError extends Error {}
