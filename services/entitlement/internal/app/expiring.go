package app

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// Expiring kinds: what ends.
const (
	KindSubscription = "subscription"
	KindMaintenance  = "maintenance"
)

// ExpiringQuery asks the expiring-entitlements view (SPEC ENT-9).
type ExpiringQuery struct {
	Expiring, Expired, Subscription, Maintenance bool
	WithinDays                                   int
	Search, OrderBy                              string
	// Accounts, when set, narrows the view to these accounts.
	Accounts []string
	// PageSize (default 50, at most 1000) and PageToken page through the view.
	PageSize  int
	PageToken string
}

// ExpiringLineItem is one row of the view.
type ExpiringLineItem struct {
	LineItem      LineItem
	AccountName   string
	Kind          string
	EndTime       time.Time
	DaysRemaining int64
}

// ExpiringFilter is what the store selects on.
type ExpiringFilter struct {
	Scope                                        LineItemScope
	Expiring, Expired, Subscription, Maintenance bool
	Now, Until                                   time.Time
	// Like is the search as an ILIKE pattern ("" for none); NamedAccounts are the
	// accounts whose names match it.
	Like          string
	NamedAccounts []string
}

// sortableTime formats times so that their text sorts as the times do.
const sortableTime = "2006-01-02T15:04:05.000000000Z"

// MaxExpiring bounds the view (and its CSV export).
const MaxExpiring = 1000

var expiringOrders = []string{"days_remaining", "expire_time", "type", "account_name"}

// ListExpiring answers the view: subscription and maintenance line items the caller
// may see, ending within the window or already ended, newest-ending first by
// default; truncated when more than MaxExpiring matched.
func (a *App) ListExpiring(ctx context.Context, q ExpiringQuery) ([]ExpiringLineItem, string, bool, error) {
	var v errs.Violations
	if q.PageSize < 0 {
		v.Add("page_size", "must not be negative")
	}
	if !q.Expiring && !q.Expired {
		v.Add("expiring", "ask for expiring, expired or both")
	}
	if q.WithinDays == 0 {
		q.WithinDays = 90
	}
	if q.WithinDays < 1 || q.WithinDays > 3650 {
		v.Add("within_days", "must be between 1 and 3650")
	}
	order, desc, _ := strings.Cut(strings.TrimSpace(q.OrderBy), " ")
	if order == "" {
		order = "days_remaining"
	}
	if !slices.Contains(expiringOrders, order) || (desc != "" && desc != "desc" && desc != "asc") {
		v.Add("order_by", "is one of %s, optionally followed by desc", strings.Join(expiringOrders, ", "))
	}
	if len(q.Search) > 200 {
		v.Add("search", "must be at most 200 characters")
	}
	if err := v.Err(); err != nil {
		return nil, "", false, err
	}
	fingerprint := fmt.Sprintf("%v|%v|%v|%v|%d|%q|%q|%q", q.Expiring, q.Expired, q.Subscription, q.Maintenance, q.WithinDays, q.Search, q.OrderBy, q.Accounts)
	cursor, err := filter.DecodeCursor(q.PageToken, fingerprint)
	if err != nil {
		return nil, "", false, err
	}
	tenant, scope, ok := scopeOf(ctx)
	if !ok {
		return nil, "", false, nil
	}
	if len(q.Accounts) > 0 {
		// Narrow to the asked accounts within what the caller may see.
		p, _ := authz.FromContext(ctx)
		scope.All = false
		scope.AccountIDs = slices.DeleteFunc(slices.Clone(q.Accounts), func(id string) bool { return !authz.CanActFor(p, id) })
	}
	now := a.now()
	f := ExpiringFilter{
		Scope: scope, Expiring: q.Expiring, Expired: q.Expired, Subscription: q.Subscription, Maintenance: q.Maintenance,
		Now: now, Until: now.AddDate(0, 0, q.WithinDays),
	}
	if !f.Subscription && !f.Maintenance {
		f.Subscription, f.Maintenance = true, true
	}
	if q.Search != "" {
		f.Like = likePattern(q.Search)
		named, err := a.accounts.NamedLike(ctx, q.Search)
		if err != nil {
			return nil, "", false, err
		}
		f.NamedAccounts = named
	}
	rows, err := a.store.ListExpiring(ctx, tenant, f, MaxExpiring+1)
	if err != nil {
		return nil, "", false, err
	}
	truncated := len(rows) > MaxExpiring
	rows = rows[:min(len(rows), MaxExpiring)]
	p, _ := authz.FromContext(ctx)
	rows = slices.DeleteFunc(rows, func(r ExpiringLineItem) bool { return !authz.InProductLines(p, r.LineItem.ProductLineID) })
	accounts := []string{}
	for i := range rows {
		rows[i].DaysRemaining = daysBetween(now, rows[i].EndTime)
		if id := rows[i].LineItem.AccountID; id != "" && !slices.Contains(accounts, id) {
			accounts = append(accounts, id)
		}
	}
	names, err := a.accounts.Names(ctx, accounts)
	if err != nil {
		return nil, "", false, err
	}
	for i := range rows {
		rows[i].AccountName = names[rows[i].LineItem.AccountID]
	}
	// The view is ordered by one sort key and the activation ID; a page token keeps
	// the last row's key and ID, so the next page starts after it however the view
	// changed in between (no row twice, none skipped that stayed put).
	sortKey := func(r ExpiringLineItem) string {
		switch order {
		case "type":
			return r.Kind
		case "account_name":
			return strings.ToLower(r.AccountName)
		}
		return r.EndTime.UTC().Format(sortableTime) // fixed width: text order is time order
	}
	compare := func(xKey, xID, yKey, yID string) int {
		c := cmp.Compare(xKey, yKey)
		if c == 0 {
			c = cmp.Compare(xID, yID)
		}
		if desc == "desc" {
			return -c
		}
		return c
	}
	slices.SortStableFunc(rows, func(x, y ExpiringLineItem) int {
		return compare(sortKey(x), x.LineItem.ActivationID, sortKey(y), y.LineItem.ActivationID)
	})
	if cursor != nil {
		rows = slices.DeleteFunc(rows, func(r ExpiringLineItem) bool {
			return compare(sortKey(r), r.LineItem.ActivationID, cursor.Key, cursor.ID) <= 0
		})
	}
	size := q.PageSize
	if size == 0 {
		size = 50
	}
	size = min(size, 1000)
	if len(rows) <= size {
		return rows, "", truncated, nil
	}
	rows = rows[:size]
	last := rows[size-1]
	return rows, filter.Cursor{Key: sortKey(last), ID: last.LineItem.ActivationID, Query: fingerprint}.Encode(), truncated, nil
}

// daysBetween counts calendar days (UTC) from from's date to to's: 0 for later today,
// negative for dates past.
func daysBetween(from, to time.Time) int64 {
	day := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return int64(math.Round(day(to).Sub(day(from)).Hours() / 24))
}

// likePattern turns a search with "*" wildcards into an ILIKE pattern in which
// everything else is literal.
func likePattern(search string) string {
	escaped := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(search)
	if !strings.Contains(search, "*") {
		return "%" + escaped + "%"
	}
	return strings.ReplaceAll(escaped, "*", "%")
}

// maxRenewalItems bounds one renewal request.
const maxRenewalItems = 100

// RequestRenewal asks the producer to renew line items the caller may see; the
// producer's administrators are emailed with the caller in copy (SPEC ENT-9).
func (a *App) RequestRenewal(ctx context.Context, activationIDs []string, note string) error {
	var v errs.Violations
	if len(activationIDs) == 0 || len(activationIDs) > maxRenewalItems {
		v.Add("activation_ids", "name 1 to %d line items", maxRenewalItems)
	}
	if len(note) > 2000 {
		v.Add("note", "must be at most 2000 characters")
	}
	if err := v.Err(); err != nil {
		return err
	}
	p, _ := authz.FromContext(ctx)
	if p.GetUserId() == "" {
		return errs.PermissionDenied(string(authz.EntitlementsView))
	}
	var b strings.Builder
	for i, id := range activationIDs {
		li, err := a.GetLineItem(ctx, id)
		if errs.IsKind(err, errs.KindNotFound) {
			return errs.Invalid(fmt.Sprintf("activation_ids[%d]", i), "line item %q not found", id)
		}
		if err != nil {
			return err
		}
		writeLineItem(&b, li)
	}
	return a.store.RecordRenewalRequest(ctx, p.GetTenantId(), activationIDs, p.GetUserId(), note, b.String())
}
