package store

import (
	"fmt"

	"github.com/tessera-dev/tessera/services/device/internal/app"
)

// ScopeSQL is app.Scope.Sees as a condition on the devices row aliased dev, for
// lists: its parameters are numbered from $first. Keep the two in step: the store
// test checks them against each other.
func ScopeSQL(s app.Scope, dev string, first int) (string, []any) {
	if s.All {
		return "TRUE", nil
	}
	owners, holders, lineItems, limited, products := first, first+1, first+2, first+3, first+4
	return fmt.Sprintf(`(%[1]s.account_id = ANY($%[2]d::text[]) OR EXISTS (
		SELECT 1 FROM device_line_items m
		WHERE m.tenant_id = %[1]s.tenant_id AND m.device_id = %[1]s.id AND m.ended_at IS NULL
			AND (m.account_id = ANY($%[3]d::text[]) OR m.activation_id = ANY($%[4]d::text[]))
			AND (NOT $%[5]d::boolean OR m.product_id = ANY($%[6]d::text[]))))`, dev, owners, holders, lineItems, limited, products),
		[]any{nonNil(s.Owners), nonNil(s.Holders), nonNil(s.LineItems), s.Limited, nonNil(s.Products)}
}

// nonNil passes an empty array rather than NULL, which ANY would not match either
// way but reads plainer in a query log.
func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
