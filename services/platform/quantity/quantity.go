// Package quantity holds the one upper bound every API puts on seat quantities.
package quantity

import "github.com/tessera-dev/tessera/services/platform/errs"

// Max is the most seats one quantity may name: an order line (new or amended), an
// activation's count or overdraft per host, a device mapping, a split, a seat move,
// a reservation, a batch rehost target. A billion is far above any real purchase,
// and low enough that the largest sums the services form (1,000 order lines, or 100
// line items × 50 host groups of count and overdraft) stay below 10^14, far from
// int64 overflow, both in Go and in Postgres bigint columns.
const Max int64 = 1_000_000_000

// Check adds a violation of field when n is outside min..Max.
func Check(v *errs.Violations, field string, n, min int64) {
	if n < min || n > Max {
		v.Add(field, "must be between %d and %d", min, Max)
	}
}
