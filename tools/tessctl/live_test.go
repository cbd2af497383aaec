package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// tessctl runs the CLI against the live gateway and decodes its JSON answer.
type tessctl struct {
	t       *testing.T
	gateway string
	token   string
}

func (c tessctl) run(args ...string) (string, error) {
	var out bytes.Buffer
	err := run(append(args, "-gateway", c.gateway, "-token", c.token), &out)
	return out.String(), err
}

func (c tessctl) json(args ...string) map[string]any {
	c.t.Helper()
	out, err := c.run(args...)
	require.NoError(c.t, err, args)
	var m map[string]any
	require.NoError(c.t, json.Unmarshal([]byte(out), &m), out)
	return m
}

// The device workflow through tessctl against the whole system: create, read and
// map over the real gateway, a retried mapping counted once, the seats taken from
// the line item; then list, history, unmap, export and return.
func TestDeviceCommandsAgainstTheGateway(t *testing.T) {
	env := suitetest.Start(t)
	seed := env.SeedLineItem(t, "cli-devices", 10)
	var tok bytes.Buffer
	require.NoError(t, run([]string{"login", "-gateway", env.Suite.GatewayURL, "-tenant", seed.Tenant, "-user", "admin", "-password", "Admin-Password-1"}, &tok))
	cli := tessctl{t: t, gateway: env.Suite.GatewayURL, token: strings.TrimSpace(tok.String())}
	available := func() string {
		t.Helper()
		var out bytes.Buffer
		require.NoError(t, run([]string{"call", "-gateway", cli.gateway, "-token", cli.token, "GET", "/v1/lineItems/" + seed.ActivationID}, &out))
		var li map[string]any
		require.NoError(t, json.Unmarshal(out.Bytes(), &li))
		return li["available"].(string)
	}

	created := cli.json("devices", "create", "-id", "edge-1", "-name", "Edge box", "-account", seed.AccountID, "-request-id", "c1")
	require.Equal(t, "devices/edge-1", created["name"])
	require.Equal(t, "accounts/"+seed.AccountID, created["account"])
	require.Equal(t, "DEVICE_TYPE_STANDALONE", created["type"])
	require.Equal(t, "Edge box", cli.json("devices", "get", "edge-1")["display_name"])

	mapped := cli.json("devices", "map", "edge-1", "-line-item", seed.ActivationID+":3", "-request-id", "m1")
	require.Equal(t, []any{"lineItems/" + seed.ActivationID}, column(mapped["line_items"], "line_item"))
	require.Equal(t, []any{"3"}, column(mapped["line_items"], "quantity"))
	again := cli.json("devices", "map", "-request-id", "m1", "edge-1", "-line-item", seed.ActivationID+":3")
	require.Equal(t, []any{"3"}, column(again["line_items"], "quantity"), "a retry takes nothing more")
	require.Equal(t, "7", available())

	_, err := cli.run("devices", "get", "nope")
	require.ErrorContains(t, err, "404")
	_, err = cli.run("devices", "map", "edge-1", "-line-item", seed.ActivationID+":8", "-request-id", "m2")
	require.Error(t, err, "more seats than are left")
	require.Equal(t, "7", available())

	listed := cli.json("devices", "list", "-filter", `display_name = "Edge*"`, "-type", "standalone", "-status", "active")
	require.Equal(t, []any{"devices/edge-1"}, column(listed["devices"], "name"))
	history := cli.json("devices", "history", "edge-1")
	require.Contains(t, column(history["entries"], "kind"), "line_item_mapped")
	require.Contains(t, column(history["entries"], "kind"), "created")

	unmapped := cli.json("devices", "unmap", "edge-1", "-line-item", seed.ActivationID, "-quantity", "1", "-request-id", "u1")
	require.Equal(t, []any{"2"}, column(unmapped["line_items"], "quantity"))
	require.Equal(t, "8", available())

	csv, err := cli.run("devices", "export")
	require.NoError(t, err)
	require.Contains(t, csv, "devices/edge-1")

	returned := cli.json("devices", "return", "edge-1", "-rma", "RMA-1", "-request-id", "r1")
	require.Equal(t, "DEVICE_STATUS_RETURNED", returned["status"])
	require.Equal(t, "10", available(), "a returned device gives its seats back")
}

// column picks one field of each object of a JSON list.
func column(list any, field string) []any {
	items, _ := list.([]any)
	out := []any{}
	for _, it := range items {
		m, _ := it.(map[string]any)
		out = append(out, m[field])
	}
	return out
}
