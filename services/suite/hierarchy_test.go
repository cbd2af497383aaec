package suite_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

func childNames(node map[string]any) []string {
	var out []string
	list, _ := node["children"].([]any)
	for _, c := range list {
		out = append(out, c.(map[string]any)["account"].(map[string]any)["account_id"].(string))
	}
	return out
}

// TestHierarchy_ACC2_ACC4: accounts form a DAG (several parents, no cycles), trees
// can be browsed, scopes cover sub-accounts, and deleting refuses accounts that still
// hold entitlements unless a producer administrator forces it.
func TestHierarchy_ACC2_ACC4(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "tree-co", "Admin-Password-1")
	admin := api.as(login(api, "tree-co", "admin", "Admin-Password-1"))
	for _, id := range []string{"A", "B", "C", "D", "E"} {
		admin.ok("POST", "/v1/accounts", map[string]any{"account_id": id, "account": map[string]any{"display_name": "Account " + id, "type": "ACCOUNT_TYPE_CUSTOMER"}})
	}
	link := func(parent, child string) reply {
		return admin.do("POST", "/v1/accounts/"+parent+":linkSubAccount", map[string]any{"child": "accounts/" + child})
	}
	for _, l := range [][2]string{{"A", "B"}, {"B", "C"}, {"A", "D"}, {"E", "D"}, {"A", "B"}} {
		require.Equal(t, http.StatusOK, link(l[0], l[1]).Status, l)
	}
	for _, l := range [][2]string{{"C", "A"}, {"B", "B"}, {"D", "A"}} {
		r := link(l[0], l[1])
		require.Equal(t, http.StatusConflict, r.Status, l)
		require.Equal(t, "ACCOUNT_CYCLE", reason(r), l)
	}
	require.Equal(t, "HOME_ACCOUNT", reason(link("HOME", "A")))

	tree := admin.ok("GET", "/v1/accounts/A:tree", nil)
	require.ElementsMatch(t, []string{"B", "D"}, childNames(tree))
	b := tree["children"].([]any)[0].(map[string]any)
	require.Equal(t, []string{"C"}, childNames(b))
	shallow := admin.ok("GET", "/v1/accounts/A:tree?max_depth=1", nil)
	require.Empty(t, childNames(shallow["children"].([]any)[0].(map[string]any)))

	// A user of B acts for B's sub-accounts, not for its parents or siblings.
	admin.ok("POST", "/v1/users", map[string]any{"password": "Bea-Password-1", "user": map[string]any{
		"username": "bea", "first_name": "Bea", "last_name": "B", "email": "bea@b.example",
		"memberships": []any{map[string]any{"account": "accounts/B", "roles": []string{"customer_admin"}}},
	}})
	bea := api.as(login(api, "tree-co", "bea", "Bea-Password-1"))
	bea.ok("GET", "/v1/accounts/C", nil)
	bea.refused(http.StatusNotFound, "GET", "/v1/accounts/A", nil)
	bea.refused(http.StatusNotFound, "GET", "/v1/accounts/D", nil)
	require.Equal(t, []string{"C"}, childNames(bea.ok("GET", "/v1/accounts/B:tree", nil)))
	bea.refused(http.StatusForbidden, "DELETE", "/v1/accounts/C", nil)

	// An entitlement below A blocks deleting the subtree, unless forced by the producer.
	seedLineItemFor(t, admin, "C")
	e := admin.refused(http.StatusConflict, "DELETE", "/v1/accounts/A?subtree=true", nil)
	require.Equal(t, "ACCOUNT_IN_USE", e["reason"])
	require.Equal(t, "1", e["metadata"].(map[string]any)["entitlements"])
	admin.ok("GET", "/v1/accounts/A", nil)
	deleted := admin.ok("DELETE", "/v1/accounts/A?subtree=true&force=true", nil)["deleted"]
	require.ElementsMatch(t, []any{"accounts/A", "accounts/B", "accounts/C"}, deleted, "D stays: E still holds it")
	for _, id := range []string{"A", "B", "C"} {
		admin.refused(http.StatusNotFound, "GET", "/v1/accounts/"+id, nil)
	}
	require.Equal(t, []string{"D"}, childNames(admin.ok("GET", "/v1/accounts/E:tree", nil)))
	require.Eventually(t, func() bool { return bea.do("GET", "/v1/accounts/D", nil).Status == http.StatusUnauthorized },
		2*time.Second, 20*time.Millisecond, "bea had only B: she went with it, and so did her session")

	admin.ok("POST", "/v1/accounts/E:unlinkSubAccount", map[string]any{"child": "accounts/D"})
	admin.refused(http.StatusNotFound, "POST", "/v1/accounts/E:unlinkSubAccount", map[string]any{"child": "accounts/D"})
	require.Equal(t, []any{"accounts/D"}, admin.ok("DELETE", "/v1/accounts/D", nil)["deleted"])
	e = admin.refused(http.StatusConflict, "DELETE", "/v1/accounts/HOME", nil)
	require.Equal(t, "HOME_ACCOUNT", e["reason"])
}

// seedLineItemFor sells a one-seat product to the account through the REST API.
func seedLineItemFor(t *testing.T, admin rest, account string) {
	t.Helper()
	admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": "lm", "license_model": map[string]any{"display_name": "LM", "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED"}})
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "p", "product": map[string]any{"display_name": "P", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE", "license_models": []string{"licenseModels/lm"}}})
	admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-" + account, "sold_to": "accounts/" + account, "lines": []any{map[string]any{"line_number": "1", "product": "products/p", "license_model": "licenseModels/lm", "quantity": 1}}})
}
