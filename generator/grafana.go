package generator

import "github.com/fieldflow/fieldflow/generator/deploy"

// Grafana's provisioning files, as typed structs: the datasource every
// dashboard query names by uid, and the provider that loads the dashboard
// JSON from the folder the monitoring component mounts it in.

// GrafanaDatasources is a datasources provisioning file.
type GrafanaDatasources struct {
	APIVersion  int                 `json:"apiVersion"`
	Datasources []GrafanaDatasource `json:"datasources"`
}

// GrafanaDatasource is one provisioned datasource.
type GrafanaDatasource struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	UID       string `json:"uid"`
	Access    string `json:"access"`
	URL       string `json:"url"`
	IsDefault bool   `json:"isDefault"`
	Editable  bool   `json:"editable"`
}

// GrafanaDashboardProviders is a dashboards provisioning file.
type GrafanaDashboardProviders struct {
	APIVersion int                        `json:"apiVersion"`
	Providers  []GrafanaDashboardProvider `json:"providers"`
}

// GrafanaDashboardProvider loads dashboards from files.
type GrafanaDashboardProvider struct {
	Name                  string                 `json:"name"`
	Folder                string                 `json:"folder"`
	Type                  string                 `json:"type"`
	DisableDeletion       bool                   `json:"disableDeletion"`
	AllowUIUpdates        bool                   `json:"allowUiUpdates"`
	UpdateIntervalSeconds int                    `json:"updateIntervalSeconds"`
	Options               map[string]interface{} `json:"options"`
}

// GrafanaDashboardDir is where the monitoring component mounts the
// dashboard JSON in Grafana's container.
const GrafanaDashboardDir = "/var/lib/grafana/dashboards/fieldflow"

func grafanaDatasources() GrafanaDatasources {
	return GrafanaDatasources{APIVersion: 1, Datasources: []GrafanaDatasource{{
		Name: "Prometheus", Type: "prometheus", UID: DatasourceUID, Access: "proxy",
		URL:       "http://" + svc(deploy.PrometheusService, MonitoringNamespace, deploy.PrometheusPort),
		IsDefault: true,
	}}}
}

// grafanaDashboards loads the generated dashboard read-only: a change made
// in the UI would be lost at the next `make generate`.
func grafanaDashboards() GrafanaDashboardProviders {
	return GrafanaDashboardProviders{APIVersion: 1, Providers: []GrafanaDashboardProvider{{
		Name: "fieldflow", Folder: "fieldflow", Type: "file", DisableDeletion: true,
		UpdateIntervalSeconds: 60, Options: map[string]interface{}{"path": GrafanaDashboardDir},
	}}}
}
