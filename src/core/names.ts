/** The one service-name pattern, shared by the config schema and the API so they cannot disagree. */

/** Service names: lower case, safe in file paths, labels and DNS names. */
export const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
