package suite_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// pageThrough reads a collection page by page, pageSize at a time, and returns the
// idField of every item in the order served; it fails on an item served twice.
func pageThrough(as rest, path string, q url.Values, field, idField string, pageSize int) []string {
	return pageThroughBy(as, path, q, field, func(it map[string]any) string { return fmt.Sprint(it[idField]) }, pageSize)
}

func pageThroughBy(as rest, path string, q url.Values, field string, idOf func(map[string]any) string, pageSize int) []string {
	as.t.Helper()
	var ids []string
	token, pages := "", 0
	for {
		page := url.Values{}
		for k, v := range q {
			page[k] = v
		}
		page.Set("page_size", fmt.Sprint(pageSize))
		if token != "" {
			page.Set("page_token", token)
		}
		body := as.ok("GET", path+"?"+page.Encode(), nil)
		items, _ := body[field].([]any)
		require.LessOrEqual(as.t, len(items), pageSize, "%s: a page holds at most page_size items", path)
		for _, it := range items {
			id := idOf(it.(map[string]any))
			require.NotContains(as.t, ids, id, "%s: %s served twice", path, id)
			ids = append(ids, id)
		}
		pages++
		token, _ = body["next_page_token"].(string)
		if token == "" {
			break
		}
		require.Less(as.t, pages, 100, "%s: paging does not end", path)
	}
	require.Greater(as.t, pages, 1, "%s: more than one page was walked", path)
	return ids
}

// TestListPaging_PLT2: the lists that returned everything at once now page
// (page_size, page_token, next_page_token): walking them in small pages serves
// every item exactly once, and a token the service did not issue is refused with a
// field violation.
func TestListPaging_PLT2(t *testing.T) {
	env := suitetest.Start(t)
	api := rest{t: t, base: env.Suite.GatewayURL}
	createTenant(api.as(env.OperatorToken), "pages-co", "Admin-Password-1")
	admin := api.as(login(api, "pages-co", "admin", "Admin-Password-1"))

	var wantLines, wantModels, wantPlans []string
	wantRoles := []string{"customer_admin", "customer_user", "partner_admin", "producer_admin"}
	for i := range 5 {
		id := fmt.Sprintf("role_%d", i)
		admin.ok("POST", "/v1/roles", map[string]any{"role_id": id, "role": map[string]any{"display_name": id, "permissions": []string{"accounts.view"}}})
		wantRoles = append(wantRoles, id)
	}
	for i := range 7 {
		id := fmt.Sprintf("line-%d", i)
		admin.ok("POST", "/v1/productLines", map[string]any{"product_line_id": id, "product_line": map[string]any{"display_name": id}})
		wantLines = append(wantLines, id)
	}
	for i := range 5 {
		id := fmt.Sprintf("model-%d", i)
		admin.ok("POST", "/v1/licenseModels", map[string]any{"license_model_id": id, "license_model": map[string]any{"display_name": id, "type": "LICENSE_MODEL_TYPE_FLOATING_COUNTED"}})
		wantModels = append(wantModels, id)
	}
	admin.ok("POST", "/v1/products", map[string]any{"product_id": "cad", "product": map[string]any{
		"display_name": "CAD", "version": "1.0", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE",
		"features": []any{map[string]any{"name": "cad", "version": "1.0"}}, "license_models": []string{"licenseModels/model-0"},
	}})
	for i := range 5 {
		id := fmt.Sprintf("plan-%d", i)
		admin.ok("POST", "/v1/servicePlans", map[string]any{"service_plan_id": id, "service_plan": map[string]any{
			"display_name": id, "product": "products/cad", "license_model": "licenseModels/model-0", "unit": "seat",
		}})
		wantPlans = append(wantPlans, id)
	}
	wantAdmins := []string{}
	for _, last := range []string{"Zed", "Abel", "Moss", "Abel"} {
		u := admin.ok("POST", "/v1/users", map[string]any{"password": "Admin-Password-9", "user": map[string]any{
			"username": "adm-" + fmt.Sprint(len(wantAdmins)), "first_name": "A", "last_name": last, "email": fmt.Sprintf("a%d@pages.example", len(wantAdmins)),
			"memberships": []any{map[string]any{"account": "accounts/HOME", "roles": []string{"producer_admin"}}},
		}})
		wantAdmins = append(wantAdmins, u["name"].(string))
	}
	admin.ok("POST", "/v1/accounts", map[string]any{"account_id": "ACME", "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER"}})
	var lines []any
	for i := range 7 {
		lines = append(lines, map[string]any{
			"line_number": fmt.Sprint(i), "product": "products/cad", "license_model": "licenseModels/model-0", "quantity": 1,
			"type": "LINE_ITEM_TYPE_SUBSCRIPTION", "expire_time": time.Now().Add(time.Duration(10+i%3) * 24 * time.Hour).UTC().Format(time.RFC3339),
		})
	}
	ent := admin.ok("POST", "/v1/orders", map[string]any{"order_id": "SO-PAGES", "sold_to": "accounts/ACME", "lines": lines})
	var wantExpiring []string
	for _, li := range ent["line_items"].([]any) {
		wantExpiring = append(wantExpiring, li.(map[string]any)["activation_id"].(string))
	}

	roles := pageThrough(admin, "/v1/roles", nil, "roles", "role_id", 3)
	require.Equal(t, wantRoles, roles, "built-in roles first, then the tenant's, each by ID")
	require.Equal(t, wantLines, pageThrough(admin, "/v1/productLines", nil, "product_lines", "product_line_id", 2))
	require.Equal(t, wantPlans, pageThrough(admin, "/v1/servicePlans", nil, "service_plans", "service_plan_id", 2))
	models := pageThrough(admin, "/v1/licenseModels", nil, "license_models", "license_model_id", 2)
	require.Equal(t, wantModels, models)
	byName := pageThrough(admin, "/v1/licenseModels", url.Values{"order_by": {"display_name desc"}}, "license_models", "license_model_id", 2)
	require.Equal(t, []string{"model-4", "model-3", "model-2", "model-1", "model-0"}, byName)
	admins := pageThrough(admin, "/v1/administrators", nil, "administrators", "user", 2)
	require.Len(t, admins, 5, "the tenant's first administrator and the four made here")
	require.Subset(t, admins, wantAdmins)
	activationOf := func(it map[string]any) string { return it["line_item"].(map[string]any)["activation_id"].(string) }
	for _, order := range []string{"", "account_name", "type desc", "expire_time desc"} {
		q := url.Values{"expiring": {"true"}, "order_by": {order}}
		paged := pageThroughBy(admin, "/v1/expiringLineItems", q, "items", activationOf, 3)
		q.Set("page_size", "1000")
		var whole []string
		for _, it := range list(admin, "/v1/expiringLineItems", q, "items") {
			whole = append(whole, activationOf(it))
		}
		require.ElementsMatch(t, wantExpiring, whole, "order %q", order)
		require.Equal(t, whole, paged, "pages walk the view in its order %q", order)
	}

	for _, path := range []string{"/v1/roles", "/v1/productLines", "/v1/servicePlans", "/v1/licenseModels", "/v1/administrators", "/v1/expiringLineItems?expiring=true&"} {
		sep := "?"
		if path[len(path)-1] == '&' {
			sep = ""
		}
		e := admin.refused(http.StatusBadRequest, "GET", path+sep+"page_token=not-a-token", nil)
		require.Equal(t, []string{"page_token"}, fieldViolations(e), path)
		e = admin.refused(http.StatusBadRequest, "GET", path+sep+"page_size=-1", nil)
		require.Equal(t, []string{"page_size"}, fieldViolations(e), path)
	}
}
