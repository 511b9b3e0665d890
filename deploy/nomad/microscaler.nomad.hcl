# microscaler on Nomad, scaling the groups of another job (here "shop": groups web and batch).
# The scaled groups must carry the ownership meta, e.g. in job "shop":
#   group "web"   { meta { "microscaler.instance" = "shop"  "microscaler.service" = "web" } ... }
#   group "batch" { meta { "microscaler.instance" = "shop"  "microscaler.service" = "batch" } ... }
# The ACL token comes from Nomad Variables; its policy needs read-job and scale-job on the namespace, and
# variables read and write on microscaler/claim/* (the instance's claim on its name: a second instance of
# "shop" started by mistake exits 2 instead of fighting this one; docs/clusters.md).
job "microscaler" {
  type = "service"

  group "controller" {
    # One instance: a second one of the same name would refuse to act (its claim is held).
    count = 1

    network {
      port "http" { to = 8080 }
    }

    task "microscaler" {
      driver = "docker"

      config {
        image = "microscaler:latest" # built from the repository's Dockerfile
        ports = ["http"]
        args  = ["run", "-c", "/local/microscaler.yaml", "--listen", "0.0.0.0:8080"]
      }

      template {
        destination = "secrets/nomad.env"
        env         = true
        data        = <<-EOT
          NOMAD_TOKEN={{ with nomadVar "nomad/jobs/microscaler" }}{{ .token }}{{ end }}
          NOMAD_ADDR=http://{{ env "attr.unique.network.ip-address" }}:4646
          MICROSCALER_TOKEN={{ with nomadVar "nomad/jobs/microscaler" }}{{ .api_token }}{{ end }}
        EOT
      }

      template {
        destination = "local/microscaler.yaml"
        data        = <<-EOT
          name: shop
          capacity: { replicas: 20 }
          interval: 100ms
          scheduler: { type: nomad, namespace: default }
          services:
            web:
              priority: 1
              min: 1
              max: 18
              run: { workload: "shop/web" }
              demand:
                source: { type: prometheus, url: "http://prometheus.service.consul:9090", query: "sum(rate(http_requests_total{job=\"web\"}[30s]))" }
                rule: { type: target, perReplica: 50 }
            batch:
              priority: 2
              run: { workload: "shop/batch" }
              demand: { rule: { type: remainder } }
        EOT
      }

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
