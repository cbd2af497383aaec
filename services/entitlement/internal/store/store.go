// Package store keeps the entitlement service's data in Postgres. Every write runs in
// one transaction that also writes its events to the outbox.
package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

// Store implements app.Store.
type Store struct{ pool *pgxpool.Pool }

// New returns a store over pool (search path: the entitlement schema).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// CreateEntitlement stores an order's entitlement and its line items with the
// entitlement.created event. An order ID seen before returns the stored entitlement
// and created=false, so order systems may resend freely.
func (s *Store) CreateEntitlement(ctx context.Context, tenant string, e app.Entitlement) (app.Entitlement, bool, error) {
	created := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		created, err = insertEntitlement(ctx, tx, tenant, e)
		return err
	})
	if err != nil {
		return app.Entitlement{}, false, err
	}
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT id FROM entitlements WHERE tenant_id = $1 AND order_id = $2`, tenant, e.OrderID).Scan(&id); err != nil {
		return app.Entitlement{}, false, err
	}
	got, err := s.GetEntitlement(ctx, tenant, id)
	return got, created, err
}

// insertEntitlement stores an entitlement, its line items and the
// entitlement.created event; created is false when its order ID was seen before.
func insertEntitlement(ctx context.Context, tx pgx.Tx, tenant string, e app.Entitlement) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO entitlements (tenant_id, id, account_id, order_id, ship_to_emails, service_plan_id, bulk_id)
		VALUES ($1, $2, $3, $4, coalesce($5::text[], '{}'), $6, $7) ON CONFLICT (tenant_id, order_id) DO NOTHING`,
		tenant, e.ID, e.AccountID, e.OrderID, e.ShipToEmails, e.ServicePlanID, e.BulkID)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	activationIDs := make([]string, 0, len(e.LineItems))
	for _, li := range e.LineItems {
		_, err := tx.Exec(ctx, `INSERT INTO line_items (tenant_id, activation_id, entitlement_id, product_id, license_model_id, account_id, state, order_line, quantity, start_time, expire_time,
				extra_activations, overdraft_allowed)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, m.extra_activations, m.overdraft_allowed
			FROM license_models m WHERE m.tenant_id = $1 AND m.id = $5`,
			tenant, li.ActivationID, e.ID, li.ProductID, li.LicenseModelID, e.AccountID, li.State, li.OrderLine, li.Quantity, li.StartTime, li.ExpireTime)
		if err != nil {
			return false, err
		}
		activationIDs = append(activationIDs, li.ActivationID)
	}
	_, err = events.Write(ctx, tx, events.Subject("entitlement", "entitlement", "created"), tenant, &eventspb.EntitlementCreated{
		EntitlementId: e.ID, AccountId: e.AccountID, OrderId: e.OrderID, ActivationIds: activationIDs, ShipToEmails: e.ShipToEmails, Origin: e.Origin,
	})
	return true, err
}

// GetEntitlement reads an entitlement with its line items.
func (s *Store) GetEntitlement(ctx context.Context, tenant, id string) (app.Entitlement, error) {
	var e app.Entitlement
	err := s.pool.QueryRow(ctx, `SELECT id, account_id, order_id, ship_to_emails, created_at, service_plan_id, bulk_id FROM entitlements WHERE tenant_id = $1 AND id = $2`, tenant, id).
		Scan(&e.ID, &e.AccountID, &e.OrderID, &e.ShipToEmails, &e.CreateTime, &e.ServicePlanID, &e.BulkID)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, errs.NotFound("entitlement", id)
	}
	if err != nil {
		return e, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+lineItemCols+` FROM line_items WHERE tenant_id = $1 AND entitlement_id = $2 ORDER BY order_line`, tenant, id)
	if err != nil {
		return e, err
	}
	e.LineItems, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.LineItem, error) { return scanLineItem(r) })
	return e, err
}

const lineItemCols = `activation_id, entitlement_id, product_id, license_model_id, account_id, state, order_line, quantity, fulfilled, start_time, expire_time,
	(SELECT coalesce(p.product_line_id, '') FROM products p WHERE p.tenant_id = line_items.tenant_id AND p.id = line_items.product_id),
	start_at_first_activation, expire_after, maintenance_expire_time, version_date, version_start_time, attributes, extra_activations, overdraft_allowed,
	line_type, coalesce(supersedes, ''), created_at, coalesce(transfer_from, '')`

func scanLineItem(row pgx.Row) (app.LineItem, error) {
	var li app.LineItem
	return li, scanLineItemInto(row, &li)
}

// scanLineItemInto reads lineItemCols into li, then any extra columns into extra.
func scanLineItemInto(row pgx.Row, li *app.LineItem, extra ...any) error {
	return row.Scan(append([]any{
		&li.ActivationID, &li.EntitlementID, &li.ProductID, &li.LicenseModelID, &li.AccountID, &li.State, &li.OrderLine,
		&li.Quantity, &li.Fulfilled, &li.StartTime, &li.ExpireTime, &li.ProductLineID,
		&li.StartAtFirstActivation, &li.ExpireAfter, &li.MaintenanceExpireTime, &li.VersionDate, &li.VersionStartTime, &li.Attributes,
		&li.ExtraActivations, &li.OverdraftAllowed, &li.Type, &li.Supersedes, &li.CreateTime, &li.TransferFrom,
	}, extra...)...)
}

// GetLineItem reads one line item by activation ID.
func (s *Store) GetLineItem(ctx context.Context, tenant, activationID string) (app.LineItem, error) {
	li, err := scanLineItem(s.pool.QueryRow(ctx, `SELECT `+lineItemCols+` FROM line_items WHERE tenant_id = $1 AND activation_id = $2`, tenant, activationID))
	if errors.Is(err, pgx.ErrNoRows) {
		return li, errs.NotFound("line item", activationID)
	}
	return li, err
}

// HasProductAccess reports whether one of accountIDs holds a deployed, unexpired line
// item of the product.
func (s *Store) HasProductAccess(ctx context.Context, tenant, productID string, accountIDs []string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM line_items WHERE tenant_id = $1 AND product_id = $2
		AND account_id = ANY($3) AND state = 'deployed' AND quantity > 0 AND (expire_time IS NULL OR expire_time > now()))`,
		tenant, productID, accountIDs).Scan(&ok)
	return ok, err
}

// CountEntitlements counts the entitlements of the accounts.
func (s *Store) CountEntitlements(ctx context.Context, tenant string, accountIDs []string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM entitlements WHERE tenant_id = $1 AND account_id = ANY($2)`, tenant, accountIDs).Scan(&n)
	return n, err
}

// ListAuditEvents pages through the audit trail.
func (s *Store) ListAuditEvents(ctx context.Context, tenant string, q filter.Query) ([]events.AuditEvent, string, error) {
	return events.ListAudit(ctx, s.pool, tenant, q)
}
