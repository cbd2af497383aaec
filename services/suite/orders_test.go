package suite_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

func orderWorld(t *testing.T) (rest, rest) {
	return orderWorldIn(t, suitetest.Start(t))
}

// orderWorldIn builds orderWorld's tenant in a running suite.
func orderWorldIn(t *testing.T, env *suitetest.Env) (rest, rest) {
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "order-co", "Admin-Password-1")
	admin := api.as(login(api, "order-co", "admin", "Admin-Password-1"))
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "OTHER", "account": map[string]any{"display_name": "Other", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "node", "license_model": map[string]any{"display_name": "Node", "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	for _, p := range []string{"cad", "sim"} {
		admin.ok("POST", "/v1/products", map[string]any{"product_id": p, "product": map[string]any{
			"display_name": p, "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
			"features": []any{map[string]any{"name": p, "version": "1.0"}}, "license_models": []string{"licenseModels/node"},
		}})
	}
	return api, admin
}

func line(n, product string, qty int, extra ...any) map[string]any {
	l := map[string]any{"line_number": n, "product": "products/" + product, "license_model": "licenseModels/node", "quantity": qty}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i].(string)] = extra[i+1]
	}
	return l
}

func lineItems(e map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, li := range e["line_items"].([]any) {
		li := li.(map[string]any)
		out[li["order_line"].(string)] = li
	}
	return out
}

// TestOrderBatches_ENT3: orders arrive in batches, all or none; every line field is
// kept; a replay changes nothing and returns the same result, also when sent
// concurrently; a changed quantity amends the line and 0 cancels it; refusals name
// the field and leave everything as it was.
func TestOrderBatches_ENT3(t *testing.T) {
	_, admin := orderWorld(t)
	maint := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	vdate := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	batch := map[string]any{"orders": []any{
		map[string]any{"order_id": "SO-1", "sold_to": "accounts/ACME", "lines": []any{
			line("10", "cad", 5, "start_at_first_activation", true, "expire_after", "1Y", "maintenance_expire_time", maint, "version_date", vdate, "attributes", map[string]string{"po": "4711"}),
			line("20", "sim", 2, "expire_time", "2030-01-01T00:00:00Z"),
		}},
		map[string]any{"order_id": "SO-2", "sold_to": "accounts/OTHER", "lines": []any{line("1", "cad", 1)}},
	}}

	// Refusals first: none of them leaves anything behind.
	bad := map[string]any{"orders": []any{
		map[string]any{"order_id": "SO-9", "sold_to": "accounts/ACME", "lines": []any{
			line("1", "cad", 1, "expire_after", "1 year"), line("2", "cad", 1, "expire_after", "1Y", "expire_time", "2030-01-01T00:00:00Z"),
			line("3", "cad", 1, "start_at_first_activation", true, "start_time", "2026-01-01T00:00:00Z"), line("4", "cad", -1),
		}},
		map[string]any{"order_id": "SO-9", "lines": []any{line("1", "cad", 1)}},
	}}
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/orders:batchCreate", bad)
	require.ElementsMatch(t, []string{"orders[0].lines[0].expire_after", "orders[0].lines[1].expire_after", "orders[0].lines[2].start_time", "orders[0].lines[3].quantity", "orders[1].order_id"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{
		map[string]any{"order_id": "SO-8", "lines": []any{line("1", "cad", 1)}},
		map[string]any{"order_id": "SO-7", "lines": []any{line("1", "nope", 1)}},
	}})
	require.Equal(t, []string{"orders[1].lines[0].product"}, fieldViolations(e))
	admin.refused(http.StatusNotFound, "GET", "/v1/entitlements/SO-8", nil)
	lines := make([]any, 1001)
	for i := range lines {
		lines[i] = line(fmt.Sprint(i), "cad", 1)
	}
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "BIG", "lines": lines}}})
	require.Equal(t, []string{"orders"}, fieldViolations(e), "at most 1,000 lines per call")

	first := admin.ok("POST", "/v1/orders:batchCreate", batch)["entitlements"].([]any)
	require.Len(t, first, 2)
	ent := first[0].(map[string]any)
	items := lineItems(ent)
	cad := items["10"]
	require.Equal(t, true, cad["start_at_first_activation"])
	require.Nil(t, cad["start_time"], "the term starts at the first activation")
	require.Equal(t, "1Y", cad["expire_after"])
	require.Equal(t, maint, cad["maintenance_expire_time"])
	require.Equal(t, vdate, cad["version_date"])
	require.Equal(t, map[string]any{"po": "4711"}, cad["attributes"])
	require.Equal(t, "2030-01-01T00:00:00Z", items["20"]["expire_time"])

	// Replays, sequential and concurrent, return the same and create nothing.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			again := admin.ok("POST", "/v1/orders:batchCreate", batch)["entitlements"].([]any)
			require.Equal(t, ent["entitlement_id"], again[0].(map[string]any)["entitlement_id"])
			require.Equal(t, cad["activation_id"], lineItems(again[0].(map[string]any))["10"]["activation_id"])
		})
	}
	wg.Wait()
	require.Len(t, admin.ok("GET", "/v1/entitlements/"+ent["entitlement_id"].(string), nil)["line_items"], 2)

	// The first activation starts the one-year term.
	act := admin.ok("POST", "/v1/lineItems/"+cad["activation_id"].(string)+":activate", map[string]any{"host_id": "HOSTNAME=h1", "quantity": 1})
	started := admin.ok("GET", "/v1/lineItems/"+cad["activation_id"].(string), nil)
	start, err := time.Parse(time.RFC3339Nano, started["start_time"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), start, time.Minute)
	end, err := time.Parse(time.RFC3339Nano, started["expire_time"].(string))
	require.NoError(t, err)
	require.Equal(t, start.AddDate(1, 0, 0), end)
	require.Contains(t, act["license_text"], strings.ToLower(end.Format("2-Jan-2006")), "the license expires with the term")

	// Amendments: more seats, fewer (not below those out), cancelled.
	amend := func(qty int) reply {
		return admin.do("POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{map[string]any{"order_id": "SO-1", "sold_to": "accounts/ACME", "lines": []any{
			line("10", "cad", qty, "start_at_first_activation", true, "expire_after", "1Y", "maintenance_expire_time", maint, "version_date", vdate, "attributes", map[string]string{"po": "4711"}),
		}}}})
	}
	require.Equal(t, http.StatusOK, amend(8).Status)
	require.EqualValues(t, "7", admin.ok("GET", "/v1/lineItems/"+cad["activation_id"].(string), nil)["available"])
	r := amend(0)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	cancelled := admin.ok("GET", "/v1/lineItems/"+cad["activation_id"].(string), nil)
	require.Equal(t, true, cancelled["cancelled"])
	require.Nil(t, cancelled["available"])
	e = admin.refused(http.StatusConflict, "POST", "/v1/lineItems/"+cad["activation_id"].(string)+":activate", map[string]any{"host_id": "HOSTNAME=h2", "quantity": 1})
	require.Equal(t, "LINE_ITEM_CANCELLED", e["reason"])
	require.Contains(t, e["message"], "cancelled or refunded")
	require.Equal(t, http.StatusOK, amend(3).Status, "reinstated")
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{
		map[string]any{"order_id": "SO-1", "sold_to": "accounts/OTHER", "lines": []any{line("10", "cad", 3)}},
	}})
	require.Equal(t, []string{"orders[0].sold_to"}, fieldViolations(e))
	e = admin.refused(http.StatusBadRequest, "POST", "/v1/orders:batchCreate", map[string]any{"orders": []any{
		map[string]any{"order_id": "SO-1", "sold_to": "accounts/ACME", "lines": []any{line("10", "sim", 3)}},
	}})
	require.Equal(t, []string{"orders[0].lines[0].product"}, fieldViolations(e))
}

// TestEDelivery_ENT3: a new entitlement is announced by email to the order's ship-to
// addresses, or else to the sold-to account's administrators.
func TestEDelivery_ENT3(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "ship-co", "Admin-Password-1")
	admin := api.as(login(api, "ship-co", "admin", "Admin-Password-1"))
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	admin.ok("POST", "/v1/users", map[string]any{"password": "Ann-Password-1", "user": map[string]any{
		"username": "ann", "first_name": "Ann", "last_name": "A", "email": "ann@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "node", "license_model": map[string]any{"display_name": "Node", "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "cad", "product": map[string]any{
		"display_name": "cad", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "cad", "version": "1.0"}}, "license_models": []string{"licenseModels/node"},
	}})
	shipped := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-S", "sold_to": "accounts/ACME", "ship_to_emails": []string{"buyer@acme.example"}, "lines": []any{line("1", "cad", 2)}})
	mail := env.WaitForMail(t, "To: <buyer@acme.example>", "SO-S")
	require.Contains(t, mail, lineItems(shipped)["1"]["activation_id"])
	admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-A", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 2)}})
	env.WaitForMail(t, "To: <ann@acme.example>", "SO-A")
}

// TestOrderQuantityFloor_ENT3: a line's quantity cannot drop below the seats out,
// except to 0 (cancelled), and the refusal changes nothing.
func TestOrderQuantityFloor_ENT3(t *testing.T) {
	_, admin := orderWorld(t)
	ent := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-5", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 3)}})
	act := lineItems(ent)["1"]["activation_id"].(string)
	for i := range 2 {
		admin.ok("POST", "/v1/lineItems/"+act+":activate", map[string]any{"host_id": fmt.Sprintf("HOSTNAME=h%d", i), "quantity": 1})
	}
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/orders", map[string]any{"order_id": "SO-5", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 1)}})
	require.Equal(t, []string{"lines[0].quantity"}, fieldViolations(e))
	require.Equal(t, "QUANTITY_BELOW_FULFILLED", e["reason"])
	require.EqualValues(t, "3", admin.ok("GET", "/v1/lineItems/"+act, nil)["quantity"])
	// A new line on the same order is added beside it.
	got := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-5", "sold_to": "accounts/ACME", "lines": []any{line("1", "cad", 3), line("2", "sim", 4)}})
	require.Len(t, got["line_items"], 2)
}

// TestExtraActivationsAndOverdraft_ENT5: a model's extra activations add to what a
// line item can give out; overdraft, where allowed, goes past that and is counted
// apart.
func TestExtraActivationsAndOverdraft_ENT5(t *testing.T) {
	_, admin := orderWorld(t)
	for id, m := range map[string]map[string]any{
		"extra": {"display_name": "Extra", "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED", "allowed_host_id_types": []string{"HOSTNAME"}, "extra_activations": 2},
		"over":  {"display_name": "Over", "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED", "allowed_host_id_types": []string{"HOSTNAME"}, "overdraft_allowed": true},
	} {
		admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": id, "license_model": m})
	}
	admin.ok("PATCH", "/v1/products/cad", map[string]any{"product": map[string]any{"license_models": []string{"licenseModels/node", "licenseModels/extra", "licenseModels/over"}}, "update_mask": "licenseModels"})
	ent := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-X", "sold_to": "accounts/ACME", "lines": []any{
		map[string]any{"line_number": "1", "product": "products/cad", "license_model": "licenseModels/extra", "quantity": 3},
		map[string]any{"line_number": "2", "product": "products/cad", "license_model": "licenseModels/over", "quantity": 1},
	}})
	extra, over := lineItems(ent)["1"], lineItems(ent)["2"]
	require.EqualValues(t, "5", extra["available"], "3 + 2 extra")
	activate := func(act string, i int) reply {
		return admin.do("POST", "/v1/lineItems/"+act+":activate", map[string]any{"host_id": fmt.Sprintf("HOSTNAME=x%d", i), "quantity": 1})
	}
	for i := range 5 {
		require.Equal(t, http.StatusOK, activate(extra["activation_id"].(string), i).Status)
	}
	r := activate(extra["activation_id"].(string), 5)
	require.Equal(t, http.StatusConflict, r.Status)
	require.Equal(t, "QUANTITY_EXCEEDED", reason(r))
	for i := range 3 {
		require.Equal(t, http.StatusOK, activate(over["activation_id"].(string), i).Status)
	}
	got := admin.ok("GET", "/v1/lineItems/"+over["activation_id"].(string), nil)
	require.EqualValues(t, "2", got["overdraft"], "two seats past the quantity, counted apart")
	require.Nil(t, got["available"])
	require.EqualValues(t, "3", got["fulfilled"])
}

// TestLineItemChains_ENT4: upgrades, upsells and renewals replace an earlier line
// item of the same account; lists show each chain's newest line item with the earlier
// ones under it, to each caller only what they may see.
func TestLineItemChains_ENT4(t *testing.T) {
	api, admin := orderWorld(t)
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "cad2", "product": map[string]any{
		"display_name": "cad2", "version": "2.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "cad", "version": "2.0"}}, "license_models": []string{"licenseModels/node"},
	}})
	admin.ok("PATCH", "/v1/products/cad", map[string]any{"product": map[string]any{"upgrade_to": []string{"products/cad2"}, "upsell_to": []string{"products/sim"}}, "update_mask": "upgradeTo,upsellTo"})
	order := func(id, account string, l map[string]any) reply {
		return admin.do("POST", "/v1/orders", map[string]any{"order_id": id, "sold_to": "accounts/" + account, "lines": []any{l}})
	}
	act := func(r reply) string {
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
		return r.Body["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	}
	v1 := act(order("SO-1", "ACME", line("1", "cad", 5)))
	other := act(order("SO-O", "OTHER", line("1", "cad", 1)))

	for _, bad := range []struct {
		l     map[string]any
		field string
	}{
		{line("1", "cad2", 5, "type", "LINE_ITEM_TYPE_UPGRADE"), "lines[0].supersedes"},
		{line("1", "cad2", 5, "type", "LINE_ITEM_TYPE_UPGRADE", "supersedes", other), "lines[0].supersedes"},
		{line("1", "sim", 5, "type", "LINE_ITEM_TYPE_UPGRADE", "supersedes", v1), "lines[0].product"},
		{line("1", "cad", 5, "supersedes", v1), "lines[0].supersedes"},
	} {
		r := order("SO-BAD", "ACME", bad.l)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Raw)
		require.Equal(t, []string{bad.field}, fieldViolations(r.Body["error"].(map[string]any)))
	}
	v2 := act(order("SO-2", "ACME", line("1", "cad2", 5, "type", "LINE_ITEM_TYPE_UPGRADE", "supersedes", v1)))
	r := order("SO-2B", "ACME", line("1", "cad2", 5, "type", "LINE_ITEM_TYPE_UPGRADE", "supersedes", v1))
	require.Equal(t, http.StatusConflict, r.Status, "a line item is superseded once")
	require.Equal(t, "ALREADY_SUPERSEDED", reason(r))
	v3 := act(order("SO-3", "ACME", line("1", "cad2", 5, "type", "LINE_ITEM_TYPE_RENEWAL", "supersedes", v2)))
	require.Equal(t, v2, act(order("SO-2", "ACME", line("1", "cad2", 5, "type", "LINE_ITEM_TYPE_UPGRADE", "supersedes", v1))), "a replay is no second upgrade")

	heads := admin.ok("GET", "/v1/lineItems?filter="+url.QueryEscape("account = ACME"), nil)["line_items"].([]any)
	require.Len(t, heads, 1, "one chain")
	head := heads[0].(map[string]any)
	require.Equal(t, v3, head["activation_id"])
	require.Equal(t, "LINE_ITEM_TYPE_RENEWAL", head["type"])
	require.Equal(t, []any{v2, v1}, head["superseded_activation_ids"])
	all := collect(t, admin, "/v1/lineItems", "line_items", "activation_id", url.Values{"include_superseded": {"true"}, "filter": {"account = ACME"}})
	require.ElementsMatch(t, []string{v1, v2, v3}, all)
	require.Equal(t, []string{v2}, collect(t, admin, "/v1/lineItems", "line_items", "activation_id", url.Values{"include_superseded": {"true"}, "filter": {"type = UPGRADE"}}))
	e := admin.refused(http.StatusBadRequest, "GET", "/v1/lineItems?filter="+url.QueryEscape("type = SIDEGRADE"), nil)
	require.Equal(t, []string{"filter"}, fieldViolations(e))

	// Each caller sees their own.
	admin.ok("POST", "/v1/users", map[string]any{"password": "Cara-Password-1", "user": map[string]any{
		"username": "cara", "first_name": "Cara", "last_name": "C", "email": "cara@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_user"}}},
	}})
	cara := api.as(login(api, "order-co", "cara", "Cara-Password-1"))
	require.Equal(t, []string{v3}, collect(t, cara, "/v1/lineItems", "line_items", "activation_id", nil))
	require.Equal(t, []string{"SO-3", "SO-2", "SO-1"}, collect(t, cara, "/v1/entitlements", "entitlements", "order_id", url.Values{"order_by": {"order_id desc"}, "page_size": {"2"}}))
	require.Len(t, readCSV(t, cara.do("GET", "/v1/entitlements:export?filter="+url.QueryEscape(`order_id = "SO-*"`), nil)), 4, "header and three entitlements")
	rows := readCSV(t, cara.do("GET", "/v1/lineItems:export", nil))
	require.Equal(t, "activation_id", rows[0][1], "a header row (PLT-3)")
	require.Len(t, rows, 2)
	require.Equal(t, v3, rows[1][1])
	key := api.ok("POST", "/v1/auth:signInWithKey", map[string]any{"tenant_id": "order-co", "key": other})["access_token"].(string)
	require.Equal(t, []string{other}, collect(t, api.as(key), "/v1/lineItems", "line_items", "activation_id", nil))
	require.Empty(t, collect(t, api.as(key), "/v1/entitlements", "entitlements", "order_id", nil), "an activation ID session lists no entitlements")
}

// TestCertificateAndEmail_ENT10: an entitlement prints as a certificate, and a line
// item can be emailed; both only to those who may see it.
func TestCertificateAndEmail_ENT10(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	seed := env.SeedLineItem(t, "cert-co", 7)
	createTenant(api.as(env.OperatorToken), "cert-rival", "Admin-Password-2")
	admin := api.as(login(api, "cert-co", "admin", "Admin-Password-1"))
	rival := api.as(login(api, "cert-rival", "admin", "Admin-Password-2"))
	li := admin.ok("GET", "/v1/lineItems/"+seed.ActivationID, nil)
	ent := li["entitlement"].(string)

	cert := admin.ok("GET", "/v1/"+ent+":certificate", nil)["text"].(string)
	require.Contains(t, cert, "ENTITLEMENT CERTIFICATE")
	require.Contains(t, cert, seed.ActivationID)
	require.Contains(t, cert, "Quantity:    7, of which 7 available")
	rival.refused(http.StatusNotFound, "GET", "/v1/"+ent+":certificate", nil)

	e := admin.refused(http.StatusBadRequest, "POST", "/v1/lineItems/"+seed.ActivationID+":email", map[string]any{"to": []string{"x", "a@b.example", "a@b.example"}})
	require.ElementsMatch(t, []string{"to[0]", "to[2]"}, fieldViolations(e))
	rival.refused(http.StatusNotFound, "POST", "/v1/lineItems/"+seed.ActivationID+":email", map[string]any{"to": []string{"spy@rival.example"}})
	admin.ok("POST", "/v1/lineItems/"+seed.ActivationID+":email", map[string]any{"to": []string{"buyer@cert.example"}})
	require.Contains(t, env.WaitForMail(t, "To: <buyer@cert.example>", "Your line item "+seed.ActivationID), "Activation ID: "+seed.ActivationID)
}

// TestSubscriptionToken_ENT11: an account's subscription token lets an appliance pull
// the account's usable line items and the earliest upcoming expiry; a new token
// replaces the old, a revoked one is refused, others' accounts are out of reach.
func TestSubscriptionToken_ENT11(t *testing.T) {
	api, admin := orderWorld(t)
	soon := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-T", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "cad", 5, "expire_time", soon.Format(time.RFC3339)), line("2", "sim", 2), line("3", "sim", 0),
		line("4", "cad", 1, "expire_time", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "start_time", time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339)),
	}})
	admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-U", "sold_to": "accounts/OTHER", "lines": []any{line("1", "cad", 1)}})
	admin.ok("POST", "/v1/users", map[string]any{"password": "Cleo-Password-1", "user": map[string]any{
		"username": "cleo", "first_name": "Cleo", "last_name": "C", "email": "cleo@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	cleo := api.as(login(api, "order-co", "cleo", "Cleo-Password-1"))
	cleo.refused(http.StatusNotFound, "POST", "/v1/accounts/OTHER:createSubscriptionToken", map[string]any{})
	first := cleo.ok("POST", "/v1/accounts/ACME:createSubscriptionToken", map[string]any{})["token"].(string)
	require.True(t, strings.HasPrefix(first, "sub_"))
	token := cleo.ok("POST", "/v1/accounts/ACME:createSubscriptionToken", map[string]any{})["token"].(string)

	pull := func(tenant, tok string) reply {
		return api.do("POST", "/v1/subscription:pull", map[string]any{"tenant_id": tenant, "token": tok})
	}
	require.Equal(t, http.StatusUnauthorized, pull("order-co", first).Status, "a new token replaces the old")
	require.Equal(t, http.StatusUnauthorized, pull("other-tenant", token).Status)
	r := pull("order-co", token)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Equal(t, "accounts/ACME", r.Body["account"])
	lines := map[string]bool{}
	for _, li := range r.Body["line_items"].([]any) {
		lines[li.(map[string]any)["order_line"].(string)] = true
	}
	require.Equal(t, map[string]bool{"1": true, "2": true}, lines, "cancelled and expired lines are left out")
	require.Equal(t, soon.Format(time.RFC3339), r.Body["next_expire_time"])

	cleo.ok("POST", "/v1/accounts/ACME:revokeSubscriptionToken", map[string]any{})
	require.Equal(t, http.StatusUnauthorized, pull("order-co", token).Status)
	cleo.refused(http.StatusNotFound, "POST", "/v1/accounts/ACME:revokeSubscriptionToken", map[string]any{})
}

// TestTransfers_ENT7: a line item with no seats out moves to another account of the
// caller's, on hold (not activatable) until a producer approves or rejects; both
// accounts' administrators are told.
func TestTransfers_ENT7(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "move-co", "Admin-Password-1")
	admin := api.as(login(api, "move-co", "admin", "Admin-Password-1"))
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "PARENT", "account": map[string]any{"display_name": "Parent", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	for _, id := range []string{"EAST", "WEST"} {
		admin.ok("POST", "/v1/accounts", map[string]any{"account_id": id, "parent": "accounts/PARENT", "account": map[string]any{"display_name": id, "type": "ACCOUNT_TYPE_CUSTOMER"}})
	}
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ELSEWHERE", "account": map[string]any{"display_name": "Elsewhere", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	admin.ok("POST", "/v1/users", map[string]any{"password": "Pat-Password-1", "user": map[string]any{
		"username": "pat", "first_name": "Pat", "last_name": "P", "email": "pat@parent.example",
		"memberships": []any{map[string]any{"account": "accounts/PARENT", "roles": []string{"customer_admin"}}},
	}})
	pat := api.as(login(api, "move-co", "pat", "Pat-Password-1"))
	admin.ok("POST", "/v1/users", map[string]any{"password": "Wes-Password-1", "user": map[string]any{
		"username": "wes", "first_name": "Wes", "last_name": "W", "email": "wes@west.example",
		"memberships": []any{map[string]any{"account": "accounts/WEST", "roles": []string{"customer_admin"}}},
	}})
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "node", "license_model": map[string]any{"display_name": "Node", "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "cad", "product": map[string]any{
		"display_name": "cad", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "cad", "version": "1.0"}}, "license_models": []string{"licenseModels/node"},
	}})
	ent := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-M", "sold_to": "accounts/EAST", "lines": []any{line("1", "cad", 3), line("2", "cad", 3)}})
	moving, busy := lineItems(ent)["1"]["activation_id"].(string), lineItems(ent)["2"]["activation_id"].(string)
	pat.ok("POST", "/v1/lineItems/"+busy+":activate", map[string]any{"host_id": "HOSTNAME=h1", "quantity": 1})

	e := pat.refused(http.StatusConflict, "POST", "/v1/lineItems/"+busy+":transfer", map[string]any{"to_account": "accounts/WEST"})
	require.Equal(t, "ACTIVE_FULFILLMENTS", e["reason"])
	e = pat.refused(http.StatusBadRequest, "POST", "/v1/lineItems/"+moving+":transfer", map[string]any{"to_account": "accounts/ELSEWHERE"})
	require.Equal(t, []string{"to_account"}, fieldViolations(e), "only to accounts the caller acts for")
	moved := pat.ok("POST", "/v1/lineItems/"+moving+":transfer", map[string]any{"to_account": "accounts/WEST"})
	require.Equal(t, "LINE_ITEM_STATE_ON_HOLD", moved["state"])
	require.Equal(t, "accounts/WEST", moved["account"])
	require.Equal(t, "accounts/EAST", moved["transfer_from"])
	env.WaitForMail(t, "To: <wes@west.example>", "is being transferred")
	e = pat.refused(http.StatusConflict, "POST", "/v1/lineItems/"+moving+":activate", map[string]any{"host_id": "HOSTNAME=h2", "quantity": 1})
	require.Equal(t, "LINE_ITEM_NOT_DEPLOYED", e["reason"])
	pat.refused(http.StatusForbidden, "POST", "/v1/lineItems/"+moving+":decideTransfer", map[string]any{"approve": true})

	done := admin.ok("POST", "/v1/lineItems/"+moving+":decideTransfer", map[string]any{"approve": true})
	require.Equal(t, "LINE_ITEM_STATE_DEPLOYED", done["state"])
	require.Nil(t, done["transfer_from"])
	pat.ok("POST", "/v1/lineItems/"+moving+":activate", map[string]any{"host_id": "HOSTNAME=h2", "quantity": 1})
	e = admin.refused(http.StatusConflict, "POST", "/v1/lineItems/"+moving+":decideTransfer", map[string]any{"approve": true})
	require.Equal(t, "NO_TRANSFER", e["reason"])

	// A rejected transfer goes back.
	back := lineItems(admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-N", "sold_to": "accounts/EAST", "lines": []any{line("1", "cad", 1)}}))["1"]["activation_id"].(string)
	pat.ok("POST", "/v1/lineItems/"+back+":transfer", map[string]any{"to_account": "accounts/WEST"})
	rejected := admin.ok("POST", "/v1/lineItems/"+back+":decideTransfer", map[string]any{"approve": false})
	require.Equal(t, "accounts/EAST", rejected["account"])
	require.Equal(t, "LINE_ITEM_STATE_DEPLOYED", rejected["state"])
}

// TestSplits_ENT8: unused seats move to a related account, pooled into a similar line
// item or as a new entitlement, never more than are unused, once per request ID; the
// target's contact is told.
func TestSplits_ENT8(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "split-co", "Admin-Password-1")
	admin := api.as(login(api, "split-co", "admin", "Admin-Password-1"))
	for _, id := range []string{"SRC", "DST"} {
		admin.ok("POST", "/v1/accounts", map[string]any{"account_id": id, "account": map[string]any{"display_name": id, "type": "ACCOUNT_TYPE_CUSTOMER"}})
	}
	dana := admin.ok("POST", "/v1/users", map[string]any{"password": "Dana-Password-1", "user": map[string]any{
		"username": "dana", "first_name": "Dana", "last_name": "D", "email": "dana@dst.example",
		"memberships": []any{map[string]any{"account": "accounts/DST", "roles": []string{"customer_user"}}},
	}})["name"].(string)
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "node", "license_model": map[string]any{"display_name": "Node", "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "cad", "product": map[string]any{
		"display_name": "cad", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "cad", "version": "1.0"}}, "license_models": []string{"licenseModels/node"},
	}})
	src := lineItems(admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-S", "sold_to": "accounts/SRC", "lines": []any{line("1", "cad", 10)}}))["1"]["activation_id"].(string)
	admin.ok("POST", "/v1/lineItems/"+src+":activate", map[string]any{"host_id": "HOSTNAME=h1", "quantity": 1})
	split := func(qty int, pool bool, req string) reply {
		return admin.do("POST", "/v1/lineItems/"+src+":split", map[string]any{"to_account": "accounts/DST", "quantity": qty, "contact": dana, "pool": pool, "request_id": req})
	}
	r := split(3, true, "s0")
	require.Equal(t, http.StatusConflict, r.Status)
	require.Equal(t, "NO_SIMILAR_LINE_ITEM", reason(r))
	r = split(10, false, "s1")
	require.Equal(t, http.StatusConflict, r.Status, "9 seats are unused, not 10")
	require.Equal(t, "QUANTITY_EXCEEDED", reason(r))

	first := split(3, false, "s2")
	require.Equal(t, http.StatusOK, first.Status, "%s", first.Raw)
	to := first.Body["to"].(map[string]any)
	require.Equal(t, "accounts/DST", to["account"])
	require.EqualValues(t, "3", to["quantity"])
	require.EqualValues(t, "7", first.Body["from"].(map[string]any)["quantity"])
	again := split(3, false, "s2")
	require.Equal(t, to["activation_id"], again.Body["to"].(map[string]any)["activation_id"], "a retried split splits once")
	require.EqualValues(t, "7", admin.ok("GET", "/v1/lineItems/"+src, nil)["quantity"])
	env.WaitForMail(t, "To: <dana@dst.example>", "3 seats")

	pooled := split(2, true, "s3")
	require.Equal(t, http.StatusOK, pooled.Status, "%s", pooled.Raw)
	require.Equal(t, to["activation_id"], pooled.Body["to"].(map[string]any)["activation_id"], "pooled into the similar line item")
	require.EqualValues(t, "5", pooled.Body["to"].(map[string]any)["quantity"])
	require.EqualValues(t, "5", admin.ok("GET", "/v1/lineItems/"+src, nil)["quantity"])
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/lineItems/"+src+":split", map[string]any{"to_account": "accounts/SRC", "quantity": 0})
	require.ElementsMatch(t, []string{"contact", "quantity"}, fieldViolations(e))
}

// TestBulkEntitlements_ENT6: a bulk entitlement's web register keys each become the
// simple entitlement "<key>ENT" of the account that redeems them, once; customer
// accounts redeem them through the account service's claim (ACC-12).
func TestBulkEntitlements_ENT6(t *testing.T) {
	api, admin := orderWorld(t)
	e := admin.refused(http.StatusBadRequest, "POST", "/v1/bulkEntitlements", map[string]any{"key_count": 0, "bulk_entitlement": map[string]any{
		"product": "products/cad", "quantity_per_key": 0, "expire_after": "soon",
	}})
	require.ElementsMatch(t, []string{"key_count", "bulk_entitlement.license_model", "bulk_entitlement.quantity_per_key", "bulk_entitlement.expire_after"}, fieldViolations(e))
	body := map[string]any{"key_count": 3, "request_id": "bulk-1", "bulk_entitlement": map[string]any{
		"product": "products/cad", "license_model": "licenseModels/node", "quantity_per_key": 2, "expire_after": "1Y", "retailer": "accounts/OTHER",
	}}
	bulk := admin.ok("POST", "/v1/bulkEntitlements", body)
	require.Equal(t, bulk["name"], admin.ok("POST", "/v1/bulkEntitlements", body)["name"], "a retried create makes no second bulk")
	keys := bulk["keys"].([]any)
	require.Len(t, keys, 3)
	key := keys[0].(map[string]any)["key"].(string)
	require.True(t, strings.HasPrefix(key, "WRK-"))

	admin.ok("POST", "/v1/users", map[string]any{"password": "Rae-Password-1", "user": map[string]any{
		"username": "rae", "first_name": "Rae", "last_name": "R", "email": "rae@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	rae := api.as(login(api, "order-co", "rae", "Rae-Password-1"))
	got := rae.ok("POST", "/v1/accounts/ACME:claimKey", map[string]any{"key": key})
	require.Equal(t, "entitlements/"+key+"ENT", got["entitlement"])
	require.Equal(t, got, rae.ok("POST", "/v1/accounts/ACME:claimKey", map[string]any{"key": key}), "redeeming again changes nothing")
	ent := rae.ok("GET", "/v1/entitlements/"+key+"ENT", nil)
	require.Equal(t, bulk["name"], ent["bulk_entitlement"])
	li := ent["line_items"].([]any)[0].(map[string]any)
	require.EqualValues(t, "2", li["quantity"])
	require.NotEmpty(t, li["expire_time"], "a one-year term from redemption")
	e = admin.refused(http.StatusConflict, "POST", "/v1/webRegisterKeys/"+key+":redeem", map[string]any{"account": "accounts/OTHER"})
	require.Equal(t, "KEY_ALREADY_REDEEMED", e["reason"])
	rae.refused(http.StatusBadRequest, "POST", "/v1/accounts/ACME:claimKey", map[string]any{"key": "WRK-NOPE-NOPE"})
	e = rae.refused(http.StatusConflict, "POST", "/v1/accounts/ACME:claimKey", map[string]any{"key": "ENT-SOMETHING"})
	require.Equal(t, "NOT_SELF_REGISTERED", e["reason"], "customer accounts redeem web register keys only")
	require.EqualValues(t, "1", admin.ok("GET", "/v1/"+bulk["name"].(string), nil)["redeemed"])
	rae.refused(http.StatusForbidden, "GET", "/v1/"+bulk["name"].(string), nil)

	// Splitting the unredeemed keys to another retailer (ENT-8).
	split := map[string]any{"to_retailer": "accounts/ACME", "key_count": 2, "request_id": "split-1"}
	e = admin.refused(http.StatusConflict, "POST", "/v1/"+bulk["name"].(string)+":split", map[string]any{"to_retailer": "accounts/ACME", "key_count": 3})
	require.Equal(t, "KEYS_EXCEEDED", e["reason"], "only 2 keys are unredeemed")
	part := admin.ok("POST", "/v1/"+bulk["name"].(string)+":split", split)
	require.Equal(t, part["name"], admin.ok("POST", "/v1/"+bulk["name"].(string)+":split", split)["name"], "a retried split splits once")
	require.Equal(t, bulk["name"], part["split_from"])
	require.Equal(t, "accounts/ACME", part["retailer"])
	require.Len(t, part["keys"], 2)
	require.Len(t, admin.ok("GET", "/v1/"+bulk["name"].(string), nil)["keys"], 1, "the redeemed key stays")
	moved := part["keys"].([]any)[0].(map[string]any)["key"].(string)
	require.Equal(t, "entitlements/"+moved+"ENT", rae.ok("POST", "/v1/accounts/ACME:claimKey", map[string]any{"key": moved})["entitlement"], "moved keys stay good")
}

// TestExpiringEntitlements_ENT9: subscription and maintenance lines by days remaining
// (negative once ended), filtered, searched with "*" (also by account name), sorted,
// exported as CSV, each caller seeing their own; renewal requests mail the producer.
func TestExpiringEntitlements_ENT9(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "exp-co", "Admin-Password-1")
	admin := api.as(login(api, "exp-co", "admin", "Admin-Password-1"))
	for id, name := range map[string]string{"ACME": "Acme Widgets", "GLOBEX": "Globex"} {
		admin.ok("POST", "/v1/accounts", map[string]any{"account_id": id, "account": map[string]any{"display_name": name, "type": "ACCOUNT_TYPE_CUSTOMER"}})
	}
	admin.ok("POST", "/v1/users", map[string]any{"password": "Ida-Password-1", "user": map[string]any{
		"username": "ida", "first_name": "Ida", "last_name": "I", "email": "ida@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_user"}}},
	}})
	ida := api.as(login(api, "exp-co", "ida", "Ida-Password-1"))
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "node", "license_model": map[string]any{"display_name": "Node", "type": "LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED", "allowed_host_id_types": []string{"HOSTNAME"}}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "cad", "product": map[string]any{
		"display_name": "cad", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "cad", "version": "1.0"}}, "license_models": []string{"licenseModels/node"},
	}})
	at := func(days int) string { return time.Now().AddDate(0, 0, days).UTC().Format(time.RFC3339) }
	past := time.Now().AddDate(0, 0, -400).UTC().Format(time.RFC3339)
	order := func(id, account string, lines ...any) map[string]map[string]any {
		return lineItems(admin.ok("POST", "/v1/orders", map[string]any{"order_id": id, "sold_to": "accounts/" + account, "lines": lines}))
	}
	acme := order("SO-A", "ACME",
		line("sub-soon", "cad", 1, "type", "LINE_ITEM_TYPE_SUBSCRIPTION", "start_time", past, "expire_time", at(10)),
		line("sub-gone", "cad", 1, "type", "LINE_ITEM_TYPE_SUBSCRIPTION", "start_time", past, "expire_time", at(-5)),
		line("maint", "cad", 1, "maintenance_expire_time", at(30)),
		line("sub-far", "cad", 1, "type", "LINE_ITEM_TYPE_SUBSCRIPTION", "start_time", past, "expire_time", at(400)),
		line("plain", "cad", 1))
	order("SO-G", "GLOBEX", line("g", "cad", 1, "type", "LINE_ITEM_TYPE_SUBSCRIPTION", "start_time", past, "expire_time", at(20)))

	view := func(caller rest, q url.Values) []map[string]any {
		var out []map[string]any
		items, _ := caller.ok("GET", "/v1/expiringLineItems?"+q.Encode(), nil)["items"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	lineOf := func(it map[string]any) string { return it["line_item"].(map[string]any)["order_line"].(string) }
	e := admin.refused(http.StatusBadRequest, "GET", "/v1/expiringLineItems", nil)
	require.Equal(t, []string{"expiring"}, fieldViolations(e), "expiring, expired or both")

	both := view(admin, url.Values{"expiring": {"true"}, "expired": {"true"}})
	var got []string
	for _, it := range both {
		got = append(got, lineOf(it))
	}
	require.Equal(t, []string{"sub-gone", "sub-soon", "g", "maint"}, got, "by days remaining; far-off and plain lines are not in view")
	require.EqualValues(t, "-5", both[0]["days_remaining"], "negative once ended")
	require.Equal(t, "Acme Widgets", both[1]["account_name"])
	require.Equal(t, "maintenance", both[3]["kind"])

	got = nil
	for _, it := range view(admin, url.Values{"expiring": {"true"}, "subscription": {"true"}, "search": {"acme*"}, "order_by": {"days_remaining desc"}}) {
		got = append(got, lineOf(it))
	}
	require.Equal(t, []string{"sub-soon"}, got, "searched by account name, subscriptions only, still expiring")
	require.Len(t, view(admin, url.Values{"expired": {"true"}, "search": {acme["sub-gone"]["activation_id"].(string)}}), 1)
	require.Empty(t, view(admin, url.Values{"expiring": {"true"}, "search": {"%"}}), "search values are literal but for *")
	got = nil
	for _, it := range view(admin, url.Values{"expiring": {"true"}, "order_by": {"account_name desc"}}) {
		got = append(got, it["account_name"].(string))
	}
	require.Equal(t, []string{"Globex", "Acme Widgets", "Acme Widgets"}, got)
	require.Len(t, view(ida, url.Values{"expiring": {"true"}, "expired": {"true"}}), 3, "Ida sees Acme's only")
	rows := readCSV(t, ida.do("GET", "/v1/expiringLineItems:export?expiring=true&expired=true", nil))
	require.Len(t, rows, 4, "a header row and three lines")

	// A renewal request mails the producer's administrators, copying the requester.
	admin.refused(http.StatusBadRequest, "POST", "/v1/lineItems:requestRenewal", map[string]any{})
	globex := admin.ok("GET", "/v1/lineItems?filter="+url.QueryEscape("account = GLOBEX"), nil)["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	e = ida.refused(http.StatusBadRequest, "POST", "/v1/lineItems:requestRenewal", map[string]any{"activation_ids": []string{globex}})
	require.Equal(t, []string{"activation_ids[0]"}, fieldViolations(e), "not one of Ida's")
	ida.ok("POST", "/v1/lineItems:requestRenewal", map[string]any{"activation_ids": []string{acme["sub-soon"]["activation_id"].(string)}, "note": "please renew"})
	// The opt-in daily digest: Ida subscribes and gets what of Acme ends within 30
	// days, once for the day.
	idaName := admin.ok("GET", "/v1/users?filter=username%3Dida", nil)["users"].([]any)[0].(map[string]any)["name"].(string)
	admin.ok("PATCH", "/v1/"+idaName, map[string]any{"user": map[string]any{"expiring_entitlements_email": true}, "update_mask": "expiringEntitlementsEmail"})
	digest := env.WaitForMail(t, "To: <ida@acme.example>", "end soon")
	require.Contains(t, digest, acme["sub-soon"]["activation_id"])
	require.Contains(t, digest, acme["maint"]["activation_id"])
	require.NotContains(t, digest, acme["sub-far"]["activation_id"])
	time.Sleep(300 * time.Millisecond)
	digests := 0
	files, err := env.Mailbox.Files()
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // a file of the test mailbox
		require.NoError(t, err)
		if strings.Contains(string(b), "end soon") {
			digests++
		}
	}
	require.Equal(t, 1, digests, "one digest a day, however often the worker looks")
	mail := env.WaitForMail(t, "Renewal request from Ida I", "please renew")
	require.Contains(t, mail, "ida@acme.example")
	require.Contains(t, mail, acme["sub-soon"]["activation_id"])
}
