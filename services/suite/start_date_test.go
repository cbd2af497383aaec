package suite_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestActivationBeforeTheStartDate_LIC1: a start date ahead — chosen at the first
// activation of a line item that starts then, or fixed by the order — does not block
// activations: every activation before it is allowed and its license starts on that
// date; choosing the same date again is fine, another one is refused.
func TestActivationBeforeTheStartDate_LIC1(t *testing.T) {
	env := suitetest.Start(t)
	_, admin, ids := batchWorld(t, env)
	ahead := time.Now().UTC().AddDate(0, 2, 0).Truncate(24 * time.Hour)
	at := ahead.Format(time.RFC3339)
	activate := func(activationID, host string, attrs map[string]any) reply {
		return admin.do("POST", "/v1/fulfillments:activate", map[string]any{
			"lines": []any{map[string]any{"line_item": "lineItems/" + activationID}}, "hosts": []any{map[string]any{"server_host_ids": []string{host}}},
			"attributes": attrs,
		})
	}
	license := func(r reply) string {
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
		return r.Body["fulfillments"].([]any)[0].(map[string]any)["license_text"].(string)
	}

	// SO-B/4 starts at its first activation, with a one-year term.
	first := license(activate(ids["SO-B/4"], "HOSTNAME=f1", map[string]any{"start_time": at}))
	require.Contains(t, first, "START="+licfile.Date(ahead))
	require.Contains(t, first, licfile.Date(ahead.AddDate(1, 0, 0)), "the term runs from the chosen start")
	require.Equal(t, at, admin.ok("GET", "/v1/lineItems/"+ids["SO-B/4"], nil)["start_time"])
	for _, attrs := range []map[string]any{nil, {"start_time": at}, {"start_time": ahead.Add(9 * time.Hour).Format(time.RFC3339)}} {
		later := license(activate(ids["SO-B/4"], "HOSTNAME=f2", attrs))
		require.Contains(t, later, "START="+licfile.Date(ahead), "%v: a later activation starts on the line item's date", attrs)
	}
	r := activate(ids["SO-B/4"], "HOSTNAME=f3", map[string]any{"start_time": ahead.AddDate(0, 0, 1).Format(time.RFC3339)})
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, []string{"attributes.start_time"}, fieldViolations(r.Body["error"].(map[string]any)))
	require.Equal(t, "START_DATE_FIXED", r.Body["error"].(map[string]any)["reason"])
	require.EqualValues(t, 0, num(admin.ok("GET", "/v1/lineItems/"+ids["SO-B/4"], nil)["available"]), "four activations took the four seats, the refusal none")

	// A start fixed by the order, ahead: activations before it are allowed too.
	created := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-AHEAD", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "fcad", 3, "license_model", "licenseModels/float", "start_time", at),
	}})
	fixed := created["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	for _, host := range []string{"HOSTNAME=o1", "HOSTNAME=o2"} {
		require.Contains(t, license(activate(fixed, host, nil)), "START="+licfile.Date(ahead))
	}
	single := admin.ok("POST", "/v1/lineItems/"+fixed+":activate", map[string]any{"host_id": "HOSTNAME=o3", "quantity": 1})
	require.Contains(t, single["license_text"], "START="+licfile.Date(ahead))
	require.EqualValues(t, 0, num(admin.ok("GET", "/v1/lineItems/"+fixed, nil)["available"]))
}

// TestAmendingAFixedStartDateIsRefused_ENT3: once a line item's start date is fixed
// — written back by its first activation, or carried by licenses that are out — an
// order resend that changes it is refused with the field and a reason, and changes
// nothing; before that, a resend may still change how and when it starts.
func TestAmendingAFixedStartDateIsRefused_ENT3(t *testing.T) {
	env := suitetest.Start(t)
	_, admin, ids := batchWorld(t, env)
	day := func(d int) string {
		return time.Now().UTC().AddDate(0, 0, d).Truncate(24 * time.Hour).Format(time.RFC3339)
	}
	lineItem := func(id string) map[string]any { return admin.ok("GET", "/v1/lineItems/"+id, nil) }
	model := []any{"license_model", "licenseModels/float"}
	firstAct := append(append([]any{}, model...), "start_at_first_activation", true, "expire_after", "1Y")
	resend := func(order string, l map[string]any) reply {
		return admin.do("POST", "/v1/orders", map[string]any{"order_id": order, "sold_to": "accounts/ACME", "lines": []any{l}})
	}
	refused := func(r reply) {
		t.Helper()
		require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Raw)
		e := r.Body["error"].(map[string]any)
		require.Equal(t, []string{"lines[0].start_time"}, fieldViolations(e))
		require.Equal(t, "START_DATE_FIXED", e["reason"])
	}

	// SO-B/4 (line 4 of SO-B) started at its first activation.
	admin.ok("POST", "/v1/fulfillments:activate", map[string]any{
		"lines": []any{map[string]any{"line_item": "lineItems/" + ids["SO-B/4"]}}, "hosts": []any{map[string]any{"server_host_ids": []string{"HOSTNAME=s"}}},
		"attributes": map[string]any{"start_time": day(10)},
	})
	before := lineItem(ids["SO-B/4"])
	require.Equal(t, day(10), before["start_time"])
	refused(resend("SO-B", line("4", "fcad", 4, append(append([]any{}, model...), "start_time", day(20), "expire_after", "1Y")...)))
	refused(resend("SO-B", line("4", "fcad", 4, append(append([]any{}, model...), "start_time", day(20))...)))
	after := lineItem(ids["SO-B/4"])
	require.Equal(t, before["start_time"], after["start_time"], "nothing changed")
	require.Equal(t, before["expire_time"], after["expire_time"])
	require.Equal(t, http.StatusOK, resend("SO-B", line("4", "fcad", 6, firstAct...)).Status, "other amendments still apply")
	require.EqualValues(t, 6, num(lineItem(ids["SO-B/4"])["quantity"]))
	require.Equal(t, day(10), lineItem(ids["SO-B/4"])["start_time"])

	// A start fixed by the order: it may move while nothing is out, not after.
	id := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-FIX", "sold_to": "accounts/ACME", "lines": []any{
		line("1", "fcad", 3, append(append([]any{}, model...), "start_time", day(5))...),
	}})["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	require.Equal(t, http.StatusOK, resend("SO-FIX", line("1", "fcad", 3, append(append([]any{}, model...), "start_time", day(7))...)).Status)
	require.Equal(t, day(7), lineItem(id)["start_time"], "moved before any activation")
	admin.ok("POST", "/v1/lineItems/"+id+":activate", map[string]any{"host_id": "HOSTNAME=x", "quantity": 1})
	refused(resend("SO-FIX", line("1", "fcad", 3, append(append([]any{}, model...), "start_time", day(9))...)))
	refused(resend("SO-FIX", line("1", "fcad", 3, firstAct...)))
	require.Equal(t, day(7), lineItem(id)["start_time"])

	// Not yet activated, a line may switch to a fixed start (applied, not ignored).
	open := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-OPEN", "sold_to": "accounts/ACME", "lines": []any{line("1", "fcad", 2, firstAct...)}})["line_items"].([]any)[0].(map[string]any)["activation_id"].(string)
	require.Equal(t, http.StatusOK, resend("SO-OPEN", line("1", "fcad", 2, append(append([]any{}, model...), "start_time", day(3))...)).Status)
	switched := lineItem(open)
	require.Equal(t, day(3), switched["start_time"])
	require.NotEqual(t, true, switched["start_at_first_activation"])
}
