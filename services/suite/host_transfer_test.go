package suite_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestHostTransferJob_LIC10: hosts move to another account with their licenses and
// the seats behind them, as a queued job whose status can be followed; the seats
// move exactly (a new entitlement, or pooled into a similar line item), the old
// fulfillments are marked TRANSFER, a retry returns the same job.
func TestHostTransferJob_LIC10(t *testing.T) {
	env := suitetest.Start(t)
	api, admin, ids := batchWorld(t, env)
	activate := func(key, host string, count int) {
		admin.ok("POST", "/v1/lineItems/"+ids[key]+":activate", map[string]any{"host_id": host, "quantity": count})
	}
	activate("SO-B/1", "HOSTNAME=lic1", 3)
	activate("SO-B/2", "HOSTNAME=lic1", 1)
	activate("SO-B/1", "HOSTNAME=lic2", 2)
	lineItem := func(id string) map[string]any { return admin.ok("GET", "/v1/lineItems/"+id, nil) }
	wait := func(job map[string]any) map[string]any {
		var got map[string]any
		require.Eventually(t, func() bool {
			got = admin.ok("GET", "/v1/"+job["name"].(string), nil)
			return got["state"] == "JOB_STATE_SUCCEEDED" || got["state"] == "JOB_STATE_FAILED"
		}, 20*time.Second, 50*time.Millisecond)
		require.Equal(t, "JOB_STATE_SUCCEEDED", got["state"], "%v", got)
		return got
	}

	e := admin.refused(http.StatusNotFound, "POST", "/v1/accounts/ACME/hosts:transfer", map[string]any{"host_ids": []string{"HOSTNAME=nope"}, "to_account": "accounts/OTHER"})
	require.Equal(t, "NOT_FOUND", e["reason"])
	body := map[string]any{"host_ids": []string{"HOSTNAME=lic1"}, "to_account": "accounts/OTHER", "request_id": "move-lic1"}
	job := admin.ok("POST", "/v1/accounts/ACME/hosts:transfer", body)
	require.Contains(t, []any{"JOB_STATE_QUEUED", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"}, job["state"])
	done := wait(job)
	require.EqualValues(t, 2, num(done["done"]))
	require.EqualValues(t, 2, num(done["total"]))
	require.Len(t, done["created"], 2)
	require.Equal(t, job["name"], admin.ok("POST", "/v1/accounts/ACME/hosts:transfer", body)["name"], "a retry returns the same job")

	moved := list(admin, "/v1/fulfillments", url.Values{"filter": {`account = OTHER AND host:"lic1"`}}, "fulfillments")
	require.Len(t, moved, 2)
	require.Equal(t, "SUPPORT_TYPE_MASTER", moved[0]["support_type"])
	require.Len(t, list(admin, "/v1/fulfillments", url.Values{"filter": {`account = ACME AND support_type = TRANSFER`}}, "fulfillments"), 2)
	src := lineItem(ids["SO-B/1"])
	require.EqualValues(t, 7, num(src["quantity"]), "the quantity behind the moved seats left with them")
	require.EqualValues(t, 5, num(src["available"]), "what Acme had free stays free")
	for _, f := range moved {
		li := lineItem(f["line_item"].(string)[len("lineItems/"):])
		require.Equal(t, "accounts/OTHER", li["account"])
		require.EqualValues(t, 0, num(li["available"]), "the new line item holds exactly the moved seats")
	}

	// Pooling: lic2's 2 seats of fcad join Other's similar line item.
	pooled := wait(admin.ok("POST", "/v1/accounts/ACME/hosts:transfer", map[string]any{"host_ids": []string{"HOSTNAME=lic2"}, "to_account": "accounts/OTHER", "pool": true}))
	require.EqualValues(t, 1, num(pooled["done"]))
	target := lineItem(ids["SO-O/1"])
	require.EqualValues(t, 3+2, num(target["quantity"]))
	require.EqualValues(t, 3, num(target["available"]), "the pooled seats came in used")

	// A customer of Acme alone cannot move hosts to Other.
	admin.ok("POST", "/v1/users", map[string]any{"password": "Ava-Password-1", "user": map[string]any{
		"username": "ava", "first_name": "Ava", "last_name": "A", "email": "ava@acme.example",
		"memberships": []any{map[string]any{"account": "accounts/ACME", "roles": []string{"customer_admin"}}},
	}})
	ava := api.as(login(api, "order-co", "ava", "Ava-Password-1"))
	e = ava.refused(http.StatusBadRequest, "POST", "/v1/accounts/ACME/hosts:transfer", map[string]any{"host_ids": []string{"HOSTNAME=lic2"}, "to_account": "accounts/OTHER"})
	require.Equal(t, []string{"to_account"}, fieldViolations(e))
	require.Equal(t, job["name"], ava.ok("GET", "/v1/"+job["name"].(string), nil)["name"], "her account's job is hers to follow")
	createTenant(api.as(env.OperatorToken), "job-rival", "Admin-Password-2")
	api.as(login(api, "job-rival", "admin", "Admin-Password-2")).refused(http.StatusNotFound, "GET", "/v1/"+job["name"].(string), nil)
}
