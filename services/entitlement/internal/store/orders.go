package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// orderRefusal is a line or order the store cannot take; the use case names the
// field in the caller's terms.
func orderRefusal(order, field, reason, format string, args ...any) error {
	return &errs.Error{
		Kind: errs.KindInvalid, Reason: reason, Message: fmt.Sprintf(format, args...),
		Metadata: map[string]string{"order": order, "field": field},
	}
}

type lineKey struct{ entitlement, line string }

// UpsertOrders stores orders in one transaction. Entitlements are locked in order ID
// order, so concurrent batches serialize per order without deadlocks and a line is
// created once however often, or however concurrently, it is sent. New lines are
// inserted together in one statement; changed quantities (0: cancelled) and dates are
// amendments. It returns the entitlements as stored and how many orders were new.
func (s *Store) UpsertOrders(ctx context.Context, tenant string, ents []app.Entitlement) ([]app.Entitlement, int, error) {
	order := make([]int, len(ents))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(ents[a].OrderID, ents[b].OrderID) })
	ids := make([]string, len(ents))
	created := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		created = 0
		newOrders := map[string]bool{}
		for _, i := range order {
			e := ents[i]
			var id, account string
			err := tx.QueryRow(ctx, `INSERT INTO entitlements (tenant_id, id, account_id, order_id, ship_to_emails, service_plan_id)
				VALUES ($1, $2, $3, $4, coalesce($5::text[], '{}'), $6) ON CONFLICT (tenant_id, order_id) DO NOTHING RETURNING id, account_id`,
				tenant, e.ID, e.AccountID, e.OrderID, e.ShipToEmails, e.ServicePlanID).Scan(&id, &account)
			if err == nil {
				newOrders[e.OrderID] = true
				created++
			} else if errors.Is(err, pgx.ErrNoRows) {
				if err := tx.QueryRow(ctx, `SELECT id, account_id FROM entitlements WHERE tenant_id = $1 AND order_id = $2 FOR UPDATE`,
					tenant, e.OrderID).Scan(&id, &account); err != nil {
					return err
				}
				if account != e.AccountID {
					return orderRefusal(e.OrderID, "sold_to", "ORDER_ACCOUNT_CHANGED", "order %s was sold to %q; an order does not move to another account", e.OrderID, account)
				}
			} else {
				return err
			}
			ids[i] = id
		}
		existing, err := s.linesForUpdate(ctx, tx, tenant, ids)
		if err != nil {
			return err
		}
		var fresh []app.LineItem
		freshEnt := map[string][]string{}
		amended := map[string][]string{}
		for _, i := range order {
			e := ents[i]
			for j, li := range e.LineItems {
				field := fmt.Sprintf("lines[%d]", j)
				prev, ok := existing[lineKey{ids[i], li.OrderLine}]
				if !ok {
					li.EntitlementID, li.AccountID = ids[i], e.AccountID
					fresh = append(fresh, li)
					freshEnt[ids[i]] = append(freshEnt[ids[i]], li.ActivationID)
					continue
				}
				if prev.ProductID != li.ProductID || prev.LicenseModelID != li.LicenseModelID || prev.Type != li.Type || prev.Supersedes != li.Supersedes {
					return orderRefusal(e.OrderID, field+".product", "ORDER_LINE_CHANGED", "line %s of order %s is for %s under %s; its product, model, type and chain do not change", li.OrderLine, e.OrderID, prev.ProductID, prev.LicenseModelID)
				}
				if li.Quantity != 0 && li.Quantity+prev.ExtraActivations < prev.Fulfilled && !prev.OverdraftAllowed {
					return orderRefusal(e.OrderID, field+".quantity", "QUANTITY_BELOW_FULFILLED", "line %s of order %s has %d seats out; its quantity cannot drop to %d (0 cancels it)", li.OrderLine, e.OrderID, prev.Fulfilled, li.Quantity)
				}
				if startFixed(prev) && startChanged(prev, li) {
					return orderRefusal(e.OrderID, field+".start_time", "START_DATE_FIXED", "line %s of order %s starts on %s, fixed since it was activated; its start date does not change",
						li.OrderLine, e.OrderID, startDate(prev))
				}
				if sameLine(prev, li) {
					continue
				}
				if err := amendLine(ctx, tx, tenant, prev.ActivationID, li); err != nil {
					return err
				}
				amended[ids[i]] = append(amended[ids[i]], prev.ActivationID)
			}
		}
		if err := insertLines(ctx, tx, tenant, fresh); err != nil {
			return err
		}
		for _, i := range order {
			e := ents[i]
			if newOrders[e.OrderID] {
				if _, err := events.Write(ctx, tx, events.Subject("entitlement", "entitlement", "created"), tenant, &eventspb.EntitlementCreated{
					EntitlementId: ids[i], AccountId: e.AccountID, OrderId: e.OrderID, ActivationIds: freshEnt[ids[i]], ShipToEmails: e.ShipToEmails,
					Origin: e.Origin,
				}); err != nil {
					return err
				}
				continue
			}
			if len(freshEnt[ids[i]])+len(amended[ids[i]]) > 0 {
				if _, err := events.Write(ctx, tx, events.Subject("entitlement", "entitlement", "amended"), tenant, &eventspb.EntitlementAmended{
					EntitlementId: ids[i], OrderId: e.OrderID, AddedActivationIds: freshEnt[ids[i]], AmendedActivationIds: amended[ids[i]],
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	out, err := s.entitlements(ctx, tenant, ids)
	return out, created, err
}

// linesForUpdate locks and reads the line items of the entitlements.
func (s *Store) linesForUpdate(ctx context.Context, tx pgx.Tx, tenant string, ids []string) (map[lineKey]app.LineItem, error) {
	rows, err := tx.Query(ctx, `SELECT `+lineItemCols+` FROM line_items WHERE tenant_id = $1 AND entitlement_id = ANY($2) ORDER BY activation_id FOR UPDATE`, tenant, ids)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.LineItem, error) { return scanLineItem(r) })
	out := make(map[lineKey]app.LineItem, len(list))
	for _, li := range list {
		out[lineKey{li.EntitlementID, li.OrderLine}] = li
	}
	return out, err
}

// sameLine reports whether a resent line asks for what is stored.
func sameLine(prev, li app.LineItem) bool {
	return prev.Quantity == li.Quantity && prev.StartAtFirstActivation == li.StartAtFirstActivation && prev.ExpireAfter == li.ExpireAfter &&
		sameTime(prev.MaintenanceExpireTime, li.MaintenanceExpireTime) && sameTime(prev.VersionDate, li.VersionDate) &&
		sameTime(prev.VersionStartTime, li.VersionStartTime) && maps.Equal(prev.Attributes, li.Attributes) &&
		(prev.StartAtFirstActivation || (sameTime(prev.StartTime, li.StartTime) && sameTime(prev.ExpireTime, li.ExpireTime)))
}

// startFixed reports whether a line item's start date can no longer change: its
// first activation wrote it back (SPEC LIC-1), or licenses that carry it are out.
func startFixed(li app.LineItem) bool {
	return (li.StartAtFirstActivation && li.StartTime != nil) || li.Fulfilled > 0
}

// startChanged reports whether a resent line asks for another start than the stored
// one: another date, or another way of setting it.
func startChanged(prev, li app.LineItem) bool {
	if li.StartAtFirstActivation {
		return !prev.StartAtFirstActivation
	}
	return !sameTime(prev.StartTime, li.StartTime)
}

func startDate(li app.LineItem) string {
	if li.StartTime == nil {
		return "its first activation"
	}
	return li.StartTime.UTC().Format(time.DateOnly)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// amendLine applies a resent line's quantity and dates, the way its start is set
// included. A line whose first activation started its term keeps the start and
// expiry that activation set (UpsertOrders refuses a resend that changes them).
func amendLine(ctx context.Context, tx pgx.Tx, tenant, activationID string, li app.LineItem) error {
	attrs, err := json.Marshal(nonNil(li.Attributes))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE line_items SET quantity = $3, maintenance_expire_time = $4, version_date = $5, version_start_time = $6,
			attributes = $7, expire_after = $8,
			start_time = CASE WHEN started THEN start_time ELSE $9 END,
			expire_time = CASE WHEN started THEN expire_time ELSE $10 END,
			start_at_first_activation = started OR $11, updated_at = now()
		FROM (SELECT start_at_first_activation AND start_time IS NOT NULL AS started FROM line_items WHERE tenant_id = $1 AND activation_id = $2) AS s
		WHERE tenant_id = $1 AND activation_id = $2`,
		tenant, activationID, li.Quantity, li.MaintenanceExpireTime, li.VersionDate, li.VersionStartTime, attrs, li.ExpireAfter, li.StartTime, li.ExpireTime,
		li.StartAtFirstActivation)
	return err
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// insertLines inserts new line items in one statement.
func insertLines(ctx context.Context, tx pgx.Tx, tenant string, lines []app.LineItem) error {
	if len(lines) == 0 {
		return nil
	}
	n := len(lines)
	act, ent, prod, model, acct, state, line := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	qty := make([]int64, n)
	start, end, maint, vdate, vstart := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	firstAct := make([]bool, n)
	after, attrs := make([]string, n), make([]string, n)
	types, supersedes := make([]string, n), make([]*string, n)
	for i, li := range lines {
		act[i], ent[i], prod[i], model[i], acct[i], state[i], line[i] = li.ActivationID, li.EntitlementID, li.ProductID, li.LicenseModelID, li.AccountID, li.State, li.OrderLine
		qty[i], start[i], end[i], maint[i], vdate[i], vstart[i] = li.Quantity, li.StartTime, li.ExpireTime, li.MaintenanceExpireTime, li.VersionDate, li.VersionStartTime
		firstAct[i], after[i], types[i] = li.StartAtFirstActivation, li.ExpireAfter, li.Type
		if li.Supersedes != "" {
			supersedes[i] = &li.Supersedes
		}
		b, err := json.Marshal(nonNil(li.Attributes))
		if err != nil {
			return err
		}
		attrs[i] = string(b)
	}
	_, err := tx.Exec(ctx, `INSERT INTO line_items (tenant_id, activation_id, entitlement_id, product_id, license_model_id, account_id, state, order_line, quantity,
			start_time, expire_time, maintenance_expire_time, version_date, version_start_time, start_at_first_activation, expire_after, attributes,
			line_type, supersedes, extra_activations, overdraft_allowed)
		SELECT $1, l.*, m.extra_activations, m.overdraft_allowed FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[],
			$10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::timestamptz[], $15::boolean[], $16::text[], $17::jsonb[],
			$18::text[], $19::text[])
			AS l(activation_id, entitlement_id, product_id, license_model_id, account_id, state, order_line, quantity, start_time, expire_time,
				maintenance_expire_time, version_date, version_start_time, start_at_first_activation, expire_after, attributes, line_type, supersedes)
		JOIN license_models m ON m.tenant_id = $1 AND m.id = l.license_model_id`,
		tenant, act, ent, prod, model, acct, state, line, qty, start, end, maint, vdate, vstart, firstAct, after, attrs, types, supersedes)
	if e := errs.FromPostgres(err); e != nil && e.Metadata["constraint"] == "line_items_supersedes" {
		return errs.FailedPrecondition("ALREADY_SUPERSEDED", "a line item this batch upgrades, upsells or renews was superseded meanwhile")
	}
	return err
}

// entitlements reads entitlements with their line items, in the order of ids.
func (s *Store) entitlements(ctx context.Context, tenant string, ids []string) ([]app.Entitlement, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, account_id, order_id, ship_to_emails, created_at, service_plan_id, bulk_id FROM entitlements WHERE tenant_id = $1 AND id = ANY($2)`, tenant, ids)
	if err != nil {
		return nil, err
	}
	byID := map[string]*app.Entitlement{}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Entitlement, error) {
		var e app.Entitlement
		err := r.Scan(&e.ID, &e.AccountID, &e.OrderID, &e.ShipToEmails, &e.CreateTime, &e.ServicePlanID, &e.BulkID)
		return e, err
	})
	if err != nil {
		return nil, err
	}
	for i := range list {
		byID[list[i].ID] = &list[i]
	}
	rows, err = s.pool.Query(ctx, `SELECT `+lineItemCols+` FROM line_items WHERE tenant_id = $1 AND entitlement_id = ANY($2) ORDER BY order_line`, tenant, ids)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.LineItem, error) { return scanLineItem(r) })
	if err != nil {
		return nil, err
	}
	for _, li := range items {
		if e := byID[li.EntitlementID]; e != nil {
			e.LineItems = append(e.LineItems, li)
		}
	}
	out := make([]app.Entitlement, len(ids))
	for i, id := range ids {
		out[i] = *byID[id]
	}
	return out, nil
}

var entitlementSchema = filter.Schema{
	"entitlement_id":   {Column: "id", Kind: filter.Text},
	"order_id":         {Column: "order_id", Kind: filter.Text},
	"account":          {Column: "account_id", Kind: filter.Exact, Collection: "accounts"},
	"service_plan":     {Column: "service_plan_id", Kind: filter.Exact, Collection: "servicePlans"},
	"bulk_entitlement": {Column: "bulk_id", Kind: filter.Exact, Collection: "bulkEntitlements"},
	"create_time":      {Column: "created_at", Kind: filter.Time},
}

// ListEntitlements lists a page of entitlements within scope, with line items.
func (s *Store) ListEntitlements(ctx context.Context, tenant string, scope app.LineItemScope, q filter.Query) ([]app.Entitlement, string, error) {
	plan, err := entitlementSchema.Plan(q, "id", 5)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, `+plan.SortKey+` FROM entitlements
		WHERE tenant_id = $1 AND ($2 OR account_id = ANY($3)) AND ($4 = '' OR id = $4)
		  AND `+plan.Where+` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit),
		append([]any{tenant, scope.All || scope.EntitlementID != "", scope.AccountIDs, scope.EntitlementID}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	ids, next, err := filter.CollectPage(plan, rows, func(r pgx.CollectableRow, id *string, key *string) error { return r.Scan(id, key) },
		func(id string) string { return id })
	if err != nil {
		return nil, "", err
	}
	out, err := s.entitlements(ctx, tenant, ids)
	return out, next, err
}
