package suite_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestConsolidation_LIC6: fulfillments made apart are consolidated later into one
// file per server host (Verify first; retries return the same); the rules on
// accounts, membership and model mixes refuse with clear errors; consolidated
// licenses are listed, saved and emailed with a shipment record, and moved to
// another server host as a whole.
func TestConsolidation_LIC6(t *testing.T) {
	env := suitetest.Start(t)
	api, admin, ids := batchWorld(t, env)
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "cons", "license_model": map[string]any{
		"display_name": "Cons", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED", "rehosts": map[string]any{"allowed": 3},
	}})
	for _, p := range []string{"c1", "c2"} {
		admin.ok("POST", "/v1/products", map[string]any{"product_id": p, "product": map[string]any{
			"display_name": p, "version": "2.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
			"features": []any{map[string]any{"name": p, "version": "2.0"}}, "license_models": []string{"licenseModels/cons"},
		}})
	}
	created := admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "SO-C", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "c1", 5, "license_model", "licenseModels/cons"), line("2", "c2", 5, "license_model", "licenseModels/cons"),
	}}}})
	items := lineItems(created["entitlements"].([]any)[0].(map[string]any))
	no := false
	activate := func(activationID string, servers, nodes []string) string {
		return admin.ok("POST", "/v1/fulfillments:activate", map[string]any{
			"lines": []any{map[string]any{"line_item": "lineItems/" + activationID}},
			"hosts": []any{map[string]any{"server_host_ids": servers, "nodelocked_host_ids": nodes}}, "attributes": map[string]any{"consolidate": no},
		})["fulfillments"].([]any)[0].(map[string]any)["name"].(string)
	}
	a := activate(items["1"]["activation_id"].(string), []string{"HOSTNAME=lic1"}, nil)
	b := activate(items["2"]["activation_id"].(string), []string{"HOSTNAME=lic1"}, nil)
	c := activate(items["2"]["activation_id"].(string), []string{"HOSTNAME=lic9"}, nil)
	other := activate(ids["SO-O/1"], []string{"HOSTNAME=lic1"}, nil)

	dry := admin.ok("POST", "/v1/consolidatedLicenses:consolidate", map[string]any{"fulfillments": []string{a, b, c}, "validate_only": true})
	require.Len(t, dry["consolidated_licenses"], 2, "one file per server host")
	require.Empty(t, list(admin, "/v1/consolidatedLicenses", url.Values{}, "consolidated_licenses"))

	res := admin.ok("POST", "/v1/consolidatedLicenses:consolidate", map[string]any{"fulfillments": []string{a, b, c}, "request_id": "con-1"})
	cls := res["consolidated_licenses"].([]any)
	require.Len(t, cls, 2)
	lic1 := cls[0].(map[string]any)
	require.Equal(t, []any{"HOSTNAME=lic1"}, lic1["server_host_ids"])
	require.Len(t, lic1["fulfillments"], 2)
	keys := keysOf(t, api.ok("GET", "/v1/tenants/order-co/publicKeys", nil))
	features, err := licfile.Verify(lic1["license_text"].(string), keys)
	require.NoError(t, err)
	require.Len(t, features, 2)
	_, err = licfile.VerifyJSON([]byte(lic1["license_json"].(string)), keys)
	require.NoError(t, err)
	require.Equal(t, lic1["name"], admin.ok("GET", "/v1/"+a, nil)["consolidated_license"])
	again := admin.ok("POST", "/v1/consolidatedLicenses:consolidate", map[string]any{"fulfillments": []string{a, b, c}, "request_id": "con-1"})
	require.Equal(t, lic1["name"], again["consolidated_licenses"].([]any)[0].(map[string]any)["name"], "a retry returns the same")

	e := admin.refused(http.StatusBadRequest, "POST", "/v1/consolidatedLicenses:consolidate", map[string]any{"fulfillments": []string{a, other}})
	require.Equal(t, []string{"fulfillments[0]"}, fieldViolations(e), "a is consolidated already")
	d := activate(items["1"]["activation_id"].(string), []string{"HOSTNAME=lic3"}, nil)
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/consolidatedLicenses:consolidate", map[string]any{"fulfillments": []string{d, other}})
	require.Equal(t, []string{"fulfillments[1]"}, fieldViolations(e), "one account per consolidation")
	nodeCounted := activate(ids["SO-B/3"], []string{"HOSTNAME=srv"}, []string{"HOSTNAME=pc1"})
	created2 := admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "SO-U", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 2)}}}})
	u := activate(lineItems(created2["entitlements"].([]any)[0].(map[string]any))["1"]["activation_id"].(string), nil, []string{"HOSTNAME=pc7"})
	e = admin.refused(http.StatusConflict, "POST", "/v1/consolidatedLicenses:consolidate", map[string]any{"fulfillments": []string{nodeCounted, u}})
	require.Equal(t, "CONSOLIDATION_MIXES_MODELS", e["reason"])

	// The list, the file, an email with its shipment record.
	require.Len(t, list(admin, "/v1/consolidatedLicenses", url.Values{"filter": {`host:"lic1"`}}, "consolidated_licenses"), 1)
	file := admin.do("GET", "/v1/"+lic1["name"].(string)+":licenseFile", nil)
	require.Equal(t, lic1["license_text"], string(file.Raw))
	sent := admin.ok("POST", "/v1/"+lic1["name"].(string)+":email", map[string]any{"to": []string{"ops@acme.example"}})
	require.Len(t, sent["shipments"], 1)
	env.WaitForMail(t, "To: <ops@acme.example>", "Consolidated license")

	// Move the whole file to lic2: every member is rehosted, the successors form a
	// new consolidated license, the old one says where it went.
	moved := admin.ok("POST", "/v1/"+lic1["name"].(string)+":rehost", map[string]any{"server_host_ids": []string{"HOSTNAME=lic2"}, "request_id": "move-1"})
	next := moved["consolidated_licenses"].([]any)[0].(map[string]any)
	require.Equal(t, []any{"HOSTNAME=lic2"}, next["server_host_ids"])
	require.Contains(t, next["license_text"], "SERVER lic2 HOSTNAME=lic2")
	_, err = licfile.Verify(next["license_text"].(string), keys)
	require.NoError(t, err)
	require.Equal(t, "SUPPORT_TYPE_REHOST", admin.ok("GET", "/v1/"+a, nil)["support_type"])
	e = admin.refused(http.StatusConflict, "POST", "/v1/"+lic1["name"].(string)+":rehost", map[string]any{"server_host_ids": []string{"HOSTNAME=lic4"}})
	require.Equal(t, "CONSOLIDATED_REPLACED", e["reason"])
	require.Equal(t, next["name"], admin.ok("GET", "/v1/"+lic1["name"].(string), nil)["replaced_by"])

	// A member changed on its own retires the file (it no longer matches the
	// fulfillments); the other members may then be consolidated again.
	members := next["fulfillments"].([]any)
	require.Len(t, members, 2)
	require.Nil(t, next["retire_time"])
	admin.ok("POST", "/v1/"+members[0].(string)+":rehost", map[string]any{"hosts": map[string]any{"server_host_ids": []string{"HOSTNAME=lic5"}}})
	retired := admin.ok("GET", "/v1/"+next["name"].(string), nil)
	require.NotNil(t, retired["retire_time"], "a member was rehosted on its own")
	fresh := activate(items["1"]["activation_id"].(string), []string{"HOSTNAME=lic2"}, nil)
	again2 := admin.ok("POST", "/v1/consolidatedLicenses:consolidate", map[string]any{"fulfillments": []string{members[1].(string), fresh}})
	require.Len(t, again2["consolidated_licenses"], 1, "a retired license's members consolidate again")
	require.Nil(t, again2["consolidated_licenses"].([]any)[0].(map[string]any)["retire_time"])
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/consolidatedLicenses:consolidate", map[string]any{"fulfillments": []string{members[1].(string), fresh}})
	require.Equal(t, []string{"fulfillments[0]"}, fieldViolations(e), "now they are in a current one")

	// Part of a member rehosted on its own: the file is retired and re-issued for the
	// members still live and the part that stayed on the server, and the retired
	// license names the new file.
	created3 := admin.ok("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "SO-R", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "c1", 5, "license_model", "licenseModels/cons"), line("2", "c2", 5, "license_model", "licenseModels/cons"),
	}}}})
	items3 := lineItems(created3["entitlements"].([]any)[0].(map[string]any))
	x := activate(items3["1"]["activation_id"].(string), []string{"HOSTNAME=lic8"}, nil)
	y := activate(items3["2"]["activation_id"].(string), []string{"HOSTNAME=lic8"}, nil)
	z := admin.ok("POST", "/v1/fulfillments:activate", map[string]any{
		"lines": []any{map[string]any{"line_item": "lineItems/" + items3["1"]["activation_id"].(string), "counts": []any{map[string]any{"host": 0, "count": 2}}}},
		"hosts": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=lic8"}}}, "attributes": map[string]any{"consolidate": no},
	})["fulfillments"].([]any)[0].(map[string]any)["name"].(string)
	three := admin.ok("POST", "/v1/consolidatedLicenses:consolidate", map[string]any{"fulfillments": []string{x, y, z}})["consolidated_licenses"].([]any)[0].(map[string]any)
	parts := admin.ok("POST", "/v1/"+z+":rehost", map[string]any{"hosts": map[string]any{"server_host_ids": []string{"HOSTNAME=lic7"}}, "count": 1})["created"].([]any)
	stayed := parts[1].(map[string]any)
	require.Equal(t, []any{"HOSTNAME=lic8"}, stayed["server_host_ids"])
	var reissued map[string]any
	require.Eventually(t, func() bool {
		old := admin.ok("GET", "/v1/"+three["name"].(string), nil)
		if old["replaced_by"] == nil || old["replaced_by"] == "" {
			return false
		}
		require.NotNil(t, old["retire_time"])
		reissued = admin.ok("GET", "/v1/"+old["replaced_by"].(string), nil)
		return true
	}, 10*time.Second, 50*time.Millisecond, "the retired file is re-issued")
	require.ElementsMatch(t, []any{x, y, stayed["name"]}, reissued["fulfillments"])
	require.Nil(t, reissued["retire_time"])
	require.Equal(t, []any{"HOSTNAME=lic8"}, reissued["server_host_ids"])
	features, err = licfile.Verify(reissued["license_text"].(string), keys)
	require.NoError(t, err)
	require.Len(t, features, 3)
	require.Equal(t, reissued["name"], admin.ok("GET", "/v1/"+x, nil)["consolidated_license"])
	// A crash between storing the new file and linking it, then the event again (as
	// a replay would bring it): the link is written, no second file is made.
	forgetLink(t, env, strings.TrimPrefix(three["name"].(string), "consolidatedLicenses/"))
	replayRetired(t, env, &eventspb.ConsolidatedLicenseRetired{
		ConsolidatedLicenseId: strings.TrimPrefix(three["name"].(string), "consolidatedLicenses/"),
		AccountId:             "ACME", FulfillmentId: strings.TrimPrefix(z, "fulfillments/"),
	})
	held := list(admin, "/v1/consolidatedLicenses", url.Values{"filter": {`host:"lic8"`}}, "consolidated_licenses")
	require.Len(t, held, 2, "the retired file and its one re-issue: a replayed event re-issues nothing more")
	require.Equal(t, reissued["name"], admin.ok("GET", "/v1/"+three["name"].(string), nil)["replaced_by"])

	// Another tenant sees nothing.
	createTenant(api.as(env.OperatorToken), "con-rival", "Admin-Password-2")
	rival := api.as(login(api, "con-rival", "admin", "Admin-Password-2"))
	rival.refused(http.StatusNotFound, "GET", "/v1/"+lic1["name"].(string), nil)
	require.Empty(t, list(rival, "/v1/consolidatedLicenses", url.Values{}, "consolidated_licenses"))
}

// list reads one page of a collection.
func list(as rest, path string, q url.Values, field string) []map[string]any {
	var out []map[string]any
	page, _ := as.ok("GET", path+"?"+q.Encode(), nil)[field].([]any)
	for _, item := range page {
		out = append(out, item.(map[string]any))
	}
	return out
}

// forgetLink clears a retired consolidated license's replaced_by, as if the service
// had crashed after re-issuing it and before linking the two.
func forgetLink(t *testing.T, env *suitetest.Env, id string) {
	t.Helper()
	db, err := pgx.Connect(t.Context(), env.DatabaseURL)
	require.NoError(t, err)
	defer func() { _ = db.Close(context.Background()) }()
	tag, err := db.Exec(t.Context(), `UPDATE license.consolidated_licenses SET replaced_by = '' WHERE id = $1`, id)
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())
}

// replayRetired publishes ev again as a replay would (a new event ID), and waits
// until the license service's re-issue consumer has applied it.
func replayRetired(t *testing.T, env *suitetest.Env, ev *eventspb.ConsolidatedLicenseRetired) {
	t.Helper()
	nc, js, err := events.Connect(t.Context(), env.Config.NATSURL, "replay")
	require.NoError(t, err)
	defer nc.Close()
	payload, err := proto.Marshal(ev)
	require.NoError(t, err)
	id := uuid.Must(uuid.NewV7()).String()
	m := nats.NewMsg(events.Subject("license", "consolidated_license", "retired"))
	m.Data = payload
	m.Header.Set(nats.MsgIdHdr, id)
	m.Header.Set(events.HeaderEventID, id)
	m.Header.Set(events.HeaderEventType, string(ev.ProtoReflect().Descriptor().FullName()))
	m.Header.Set(events.HeaderTenant, "order-co")
	m.Header.Set(events.HeaderTime, time.Now().UTC().Format(time.RFC3339Nano))
	_, err = js.PublishMsg(t.Context(), m)
	require.NoError(t, err)
	db, err := pgx.Connect(t.Context(), env.DatabaseURL)
	require.NoError(t, err)
	defer func() { _ = db.Close(context.Background()) }()
	require.Eventually(t, func() bool {
		var applied bool
		require.NoError(t, db.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM license.processed_events
			WHERE consumer = 'license-consolidated-reissue' AND event_id = $1)`, id).Scan(&applied))
		return applied
	}, 10*time.Second, 20*time.Millisecond, "the replay was applied")
}
