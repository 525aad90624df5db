// Package grafanatest reads a dashboard back from its JSON file, as Grafana
// does, for the tests that run its queries (the generator's against the
// metrics it declares, the engine's against a real Prometheus). It is test
// code: no binary imports it.
package grafanatest

import (
	"encoding/json"
	"fmt"
)

// Query is one query of a dashboard, as Grafana reads it from the JSON file.
type Query struct {
	Panel      string // panel title, or "variable NAME"
	Expr       string
	Legend     string
	Instant    bool
	Datasource string // uid
}

// dashboardFile is the part of a dashboard's JSON that holds queries.
type dashboardFile struct {
	Panels     []dashboardPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Query      json.RawMessage `json:"query"`
			Datasource datasourceRef   `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
}

type dashboardPanel struct {
	Title   string           `json:"title"`
	Panels  []dashboardPanel `json:"panels"` // a collapsed row's
	Targets []struct {
		Expr         string        `json:"expr"`
		LegendFormat string        `json:"legendFormat"`
		Instant      bool          `json:"instant"`
		Datasource   datasourceRef `json:"datasource"`
	} `json:"targets"`
}

type datasourceRef struct {
	UID string `json:"uid"`
}

// Queries lists every query of a dashboard JSON: each
// panel's targets and each query variable's query.
func Queries(b []byte) ([]Query, error) {
	var d dashboardFile
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	var out []Query
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, Query{Panel: p.Title, Expr: t.Expr, Legend: t.LegendFormat, Instant: t.Instant, Datasource: t.Datasource.UID})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		var q string
		if err := json.Unmarshal(v.Query, &q); err != nil {
			return nil, fmt.Errorf("dashboard variable %s: query is not a string: %w", v.Name, err)
		}
		out = append(out, Query{Panel: "variable " + v.Name, Expr: q, Datasource: v.Datasource.UID})
	}
	return out, nil
}
