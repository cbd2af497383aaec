package suite_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// TestTooManyEntriesAreRefused_Hardening11: repeated fields and maps have a bounded
// number of entries as strings have a bounded length — a product with more features
// than one license event can carry, or an account with more attributes than declared,
// is refused with 400 naming the field, and neither row nor event is stored. At the
// bound the same requests are accepted.
func TestTooManyEntriesAreRefused_Hardening11(t *testing.T) {
	env := suitetest.Start(t)
	env.SeedLineItem(t, "entries-co", 1)
	api := rest{t: t, base: env.Suite.GatewayURL}
	admin := api.as(login(api, "entries-co", "admin", "Admin-Password-1"))
	conn, err := pgx.Connect(t.Context(), env.DatabaseURL)
	require.NoError(t, err)
	defer func() { _ = conn.Close(t.Context()) }()
	stored := func() (rows int) {
		require.NoError(t, conn.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM entitlement.products) + (SELECT count(*) FROM entitlement.outbox)
			+ (SELECT count(*) FROM account.accounts) + (SELECT count(*) FROM account.outbox)`).Scan(&rows))
		return rows
	}
	features := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"name": fmt.Sprintf("F%d", i), "version": "1.0"}
		}
		return out
	}
	attributes := func(n int, value string) map[string]any {
		out := make(map[string]any, n)
		for i := range n {
			out[fmt.Sprintf("k%d", i)] = value
		}
		return out
	}
	product := func(id string, n int) map[string]any {
		return map[string]any{"product_id": id, "product": map[string]any{
			"display_name": "CAD", "license_technology": "LICENSE_TECHNOLOGY_CERTIFICATE", "features": features(n),
		}}
	}
	account := func(id string, attrs map[string]any) map[string]any {
		return map[string]any{"account_id": id, "account": map[string]any{"display_name": "Acme", "type": "ACCOUNT_TYPE_CUSTOMER", "attributes": attrs}}
	}
	before := stored()

	for _, tc := range []struct {
		name, path string
		body       any
		field      string
	}{
		{"product of 33 features", "/v1/products", product("wide", 33), "product.features"},
		{"product of 6,000 features", "/v1/products", product("wide", 6000), "product.features"},
		{"account of 51 attributes", "/v1/accounts", account("WIDE", attributes(51, "v")), "account.attributes"},
		{"account of 3,000 long attributes", "/v1/accounts", account("WIDE", attributes(3000, strings.Repeat("a", 1000))), "account.attributes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := admin
			a.t = t
			e := a.refused(http.StatusBadRequest, "POST", tc.path, tc.body)
			assert.Equal(t, "INVALID_ARGUMENT", e["status"])
			assert.Equal(t, []string{tc.field}, fieldViolations(e), "%v", e)
		})
	}
	admin.refused(http.StatusNotFound, "GET", "/v1/products/wide", nil)
	admin.refused(http.StatusNotFound, "GET", "/v1/accounts/WIDE", nil)
	assert.Equal(t, before, stored(), "a refused request leaves no row and no event")

	// At the bounds, the same requests are accepted.
	got := admin.ok("POST", "/v1/products", product("wide", 32))
	assert.Len(t, got["features"], 32)
	got = admin.ok("POST", "/v1/accounts", account("WIDE", attributes(50, strings.Repeat("a", 1000))))
	assert.Len(t, got["attributes"], 50)
}
