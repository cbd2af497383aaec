package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/license/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
)

func insertConsolidated(ctx context.Context, tx pgx.Tx, tenant, requestID string, c app.ConsolidatedLicense) error {
	b := &pgx.Batch{}
	queueConsolidated(b, tenant, requestID, c)
	return tx.SendBatch(ctx, b).Close()
}

func queueConsolidated(b *pgx.Batch, tenant, requestID string, c app.ConsolidatedLicense) {
	b.Queue(`INSERT INTO consolidated_licenses (tenant_id, id, account_id, server_host_ids, technology, license_text, license_json, key_id, request_id)
		VALUES ($1, $2, $3, coalesce($4::text[], '{}'), $5, $6, $7, $8, $9)`, tenant, c.ID, c.AccountID, c.ServerHostIDs, c.Technology, c.LicenseText, c.LicenseJSON, c.KeyID, requestID)
}

// CreateConsolidated stores consolidated licenses of existing fulfillments and makes
// them members, under their row locks: a member consolidated into a current license
// or replaced meanwhile fails the whole request. Members of a retired or moved
// consolidated license may be consolidated again.
func (s *Store) CreateConsolidated(ctx context.Context, tenant, requestID string, cls []app.ConsolidatedLicense) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, c := range cls {
			if err := insertConsolidated(ctx, tx, tenant, requestID, c); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `UPDATE fulfillments f SET consolidated_id = $3, updated_at = now()
				WHERE f.tenant_id = $1 AND f.id = ANY($2) AND f.support_type = 'master'
				  AND NOT EXISTS (SELECT 1 FROM consolidated_licenses c WHERE c.tenant_id = f.tenant_id AND c.id = f.consolidated_id
				                  AND c.replaced_by = '' AND c.retired_at IS NULL)`, tenant, c.FulfillmentIDs, c.ID)
			if err != nil {
				return err
			}
			if int(tag.RowsAffected()) != len(c.FulfillmentIDs) {
				return errs.FailedPrecondition("FULFILLMENT_CHANGED", "a fulfillment was consolidated or replaced meanwhile; list them again")
			}
			if _, err := events.Write(ctx, tx, events.Subject("license", "consolidated_license", "created"), tenant, &eventspb.ConsolidatedLicenseCreated{
				ConsolidatedLicenseId: c.ID, AccountId: c.AccountID, FulfillmentIds: c.FulfillmentIDs, ServerHostIds: c.ServerHostIDs,
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// ConsolidatedByRequest returns the consolidated licenses a request made.
func (s *Store) ConsolidatedByRequest(ctx context.Context, tenant, requestID string) ([]app.ConsolidatedLicense, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+consolidatedCols+` FROM consolidated_licenses c WHERE c.tenant_id = $1 AND c.request_id = $2 ORDER BY array_to_string(c.server_host_ids, ' '), c.id`, tenant, requestID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.ConsolidatedLicense, error) { return scanConsolidated(r) })
}

// GetConsolidated reads a consolidated license with its shipments.
func (s *Store) GetConsolidated(ctx context.Context, tenant, id string) (app.ConsolidatedLicense, error) {
	c, err := scanConsolidated(s.pool.QueryRow(ctx, `SELECT `+consolidatedCols+` FROM consolidated_licenses c WHERE c.tenant_id = $1 AND c.id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.NotFound("consolidated license", id)
	}
	if err != nil {
		return c, err
	}
	rows, err := s.pool.Query(ctx, `SELECT recipients, user_id, shipped_at FROM consolidated_shipments WHERE tenant_id = $1 AND consolidated_id = $2 ORDER BY shipped_at`, tenant, id)
	if err != nil {
		return c, err
	}
	c.Shipments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Shipment, error) {
		var sh app.Shipment
		return sh, r.Scan(&sh.To, &sh.UserID, &sh.Time)
	})
	return c, err
}

var consolidatedSchema = filter.Schema{
	"consolidated_license_id": {Column: "c.id", Kind: filter.Text},
	"host":                    {Column: "array_to_string(c.server_host_ids, ' ')", Kind: filter.Text},
	"account":                 {Column: "c.account_id", Kind: filter.Exact, Collection: "accounts"},
	"create_time":             {Column: "c.created_at", Kind: filter.Time},
}

// ListConsolidated lists a page of consolidated licenses within scope.
func (s *Store) ListConsolidated(ctx context.Context, tenant string, scope app.Scope, q filter.Query) ([]app.ConsolidatedLicense, string, error) {
	plan, err := consolidatedSchema.Plan(q, "c.id", 4)
	if err != nil {
		return nil, "", err
	}
	cols := `c.id, c.account_id, c.server_host_ids, c.technology, '', '', c.key_id, c.created_at, c.replaced_by, c.retired_at,
		coalesce((SELECT array_agg(f.id ORDER BY f.id) FROM fulfillments f WHERE f.tenant_id = c.tenant_id AND f.consolidated_id = c.id), '{}')`
	rows, err := s.pool.Query(ctx, `SELECT `+cols+`, `+plan.SortKey+` AS sort_key FROM consolidated_licenses c
		WHERE c.tenant_id = $1 AND ($2 OR c.account_id = ANY($3)) AND `+plan.Where+` ORDER BY `+plan.OrderBy+` LIMIT `+strconv.Itoa(plan.Limit),
		append([]any{tenant, scope.All, nonNil(scope.AccountIDs)}, plan.Args...)...)
	if err != nil {
		return nil, "", err
	}
	return filter.CollectPage(plan, rows, func(r pgx.CollectableRow, c *app.ConsolidatedLicense, key *string) error {
		return scanConsolidatedInto(r, c, key)
	}, func(c app.ConsolidatedLicense) string { return c.ID })
}

// RecordShipment records a consolidated license's email and writes the event that
// carries it to the mailer.
func (s *Store) RecordShipment(ctx context.Context, tenant string, c app.ConsolidatedLicense, to []string, userID, subject, text string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO consolidated_shipments (tenant_id, consolidated_id, recipients, user_id, shipped_at) VALUES ($1, $2, $3, $4, $5)`,
			tenant, c.ID, to, userID, time.Now()); err != nil {
			return err
		}
		_, err := events.Write(ctx, tx, events.Subject("license", "fulfillment", "emailed"), tenant, &eventspb.FulfillmentEmailed{
			FulfillmentId: c.ID, To: to, Subject: subject, Text: text, LicenseText: c.LicenseText,
		})
		return err
	})
}

// MarkConsolidatedReplaced records that a consolidated license moved to another.
func (s *Store) MarkConsolidatedReplaced(ctx context.Context, tenant, id, by string) error {
	_, err := s.pool.Exec(ctx, `UPDATE consolidated_licenses SET replaced_by = $3 WHERE tenant_id = $1 AND id = $2`, tenant, id, by)
	return err
}

// retireConsolidatedOf retires, inside tx, the current consolidated licenses that
// hold any of the replaced fulfillments: their files no longer match the members.
func retireConsolidatedOf(ctx context.Context, tx pgx.Tx, tenant string, replaced []string) error {
	rows, err := tx.Query(ctx, `UPDATE consolidated_licenses c SET retired_at = now()
		FROM fulfillments f
		WHERE f.tenant_id = $1 AND f.id = ANY($2) AND c.tenant_id = f.tenant_id AND c.id = f.consolidated_id
		  AND c.replaced_by = '' AND c.retired_at IS NULL
		RETURNING c.id, c.account_id, f.id`, tenant, replaced)
	if err != nil {
		return err
	}
	var retired []*eventspb.ConsolidatedLicenseRetired
	var id, account, by string
	if _, err := pgx.ForEachRow(rows, []any{&id, &account, &by}, func() error {
		retired = append(retired, &eventspb.ConsolidatedLicenseRetired{ConsolidatedLicenseId: id, AccountId: account, FulfillmentId: by})
		return nil
	}); err != nil {
		return err
	}
	for _, ev := range retired {
		if _, err := events.Write(ctx, tx, events.Subject("license", "consolidated_license", "retired"), tenant, ev); err != nil {
			return err
		}
	}
	return nil
}
