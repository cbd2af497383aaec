package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

// CreateBulkEntitlement stores a bulk entitlement with its keys, or returns the one
// an earlier request with the same request ID made.
func (s *Store) CreateBulkEntitlement(ctx context.Context, tenant string, b app.BulkEntitlement) (app.BulkEntitlement, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO bulk_entitlements (tenant_id, id, product_id, license_model_id, quantity_per_key, expire_after, retailer, request_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
			tenant, b.ID, b.ProductID, b.LicenseModelID, b.QuantityPerKey, b.ExpireAfter, b.Retailer, pg.NullIfEmpty(b.RequestID))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var prevRequest string
			err := tx.QueryRow(ctx, `SELECT coalesce(request_id, '') FROM bulk_entitlements WHERE tenant_id = $1 AND id = $2`, tenant, b.ID).Scan(&prevRequest)
			if err != nil || b.RequestID == "" || prevRequest != b.RequestID {
				return errs.AlreadyExists("bulk entitlement", b.ID)
			}
			return nil // a retry: the first request made it
		}
		keys := make([]string, len(b.Keys))
		for i, k := range b.Keys {
			keys[i] = k.Key
		}
		if _, err := tx.Exec(ctx, `INSERT INTO web_register_keys (tenant_id, key, bulk_id) SELECT $1, k, $2 FROM unnest($3::text[]) AS k`, tenant, b.ID, keys); err != nil {
			return err
		}
		_, err = events.Write(ctx, tx, events.Subject("entitlement", "bulk_entitlement", "created"), tenant, &eventspb.BulkEntitlementCreated{
			BulkEntitlementId: b.ID, ProductId: b.ProductID, KeyCount: int32(len(keys)), //nolint:gosec // at most 10,000
		})
		return err
	})
	if err != nil {
		return app.BulkEntitlement{}, err
	}
	return s.GetBulkEntitlement(ctx, tenant, b.ID)
}

const bulkCols = `id, product_id, license_model_id, quantity_per_key, expire_after, retailer, coalesce(request_id, ''), created_at, split_from`

func scanBulk(row pgx.Row) (app.BulkEntitlement, error) {
	var b app.BulkEntitlement
	err := row.Scan(&b.ID, &b.ProductID, &b.LicenseModelID, &b.QuantityPerKey, &b.ExpireAfter, &b.Retailer, &b.RequestID, &b.CreateTime, &b.SplitFrom)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, errs.NotFound("bulk entitlement", b.ID)
	}
	return b, err
}

// GetBulkEntitlement reads a bulk entitlement with its keys.
func (s *Store) GetBulkEntitlement(ctx context.Context, tenant, id string) (app.BulkEntitlement, error) {
	b, err := scanBulk(s.pool.QueryRow(ctx, `SELECT `+bulkCols+` FROM bulk_entitlements WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if err != nil {
		return b, err
	}
	rows, err := s.pool.Query(ctx, `SELECT key, coalesce(redeemed_by, ''), redeemed_at FROM web_register_keys WHERE tenant_id = $1 AND bulk_id = $2 ORDER BY key`, tenant, id)
	if err != nil {
		return b, err
	}
	b.Keys, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.WebRegisterKey, error) {
		var k app.WebRegisterKey
		err := r.Scan(&k.Key, &k.RedeemedBy, &k.RedeemTime)
		return k, err
	})
	return b, err
}

// BulkForKey finds the bulk entitlement a web register key belongs to.
func (s *Store) BulkForKey(ctx context.Context, tenant, key string) (app.BulkEntitlement, error) {
	return scanBulk(s.pool.QueryRow(ctx, `SELECT `+bulkCols+` FROM bulk_entitlements b WHERE tenant_id = $1 AND id = (
		SELECT bulk_id FROM web_register_keys WHERE tenant_id = $1 AND key = $2)`, tenant, key))
}

// RedeemWebRegisterKey marks a key redeemed by e's account and stores e, under the
// key's row lock; the same account again gets the entitlement made the first time.
func (s *Store) RedeemWebRegisterKey(ctx context.Context, tenant, key string, e app.Entitlement) (app.Entitlement, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var by string
		if err := tx.QueryRow(ctx, `SELECT coalesce(redeemed_by, '') FROM web_register_keys WHERE tenant_id = $1 AND key = $2 FOR UPDATE`, tenant, key).Scan(&by); err != nil {
			return err
		}
		switch by {
		case e.AccountID:
			return nil
		case "":
		default:
			return errs.FailedPrecondition("KEY_ALREADY_REDEEMED", "web register key %s was redeemed by another account", key)
		}
		if _, err := tx.Exec(ctx, `UPDATE web_register_keys SET redeemed_by = $3, redeemed_at = $4 WHERE tenant_id = $1 AND key = $2`, tenant, key, e.AccountID, time.Now()); err != nil {
			return err
		}
		_, err := insertEntitlement(ctx, tx, tenant, e)
		return err
	})
	if err != nil {
		return app.Entitlement{}, err
	}
	return s.GetEntitlement(ctx, tenant, e.ID)
}

// SplitBulkEntitlement moves keyCount unredeemed keys of fromID to a new bulk
// entitlement newID of the retailer, under a lock on the source; newID derives from
// the request ID, so a retry finds the split done and returns it.
func (s *Store) SplitBulkEntitlement(ctx context.Context, tenant, fromID, newID, retailer string, keyCount int, requestID string) (app.BulkEntitlement, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		src, err := scanBulk(tx.QueryRow(ctx, `SELECT `+bulkCols+` FROM bulk_entitlements WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, fromID))
		if errs.IsKind(err, errs.KindNotFound) {
			return errs.NotFound("bulk entitlement", fromID)
		}
		if err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bulk_entitlements WHERE tenant_id = $1 AND id = $2)`, tenant, newID).Scan(&done); err != nil || done {
			return err
		}
		if retailer == src.Retailer {
			return errs.Invalid("to_retailer", "the keys already belong to %s", retailer)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bulk_entitlements (tenant_id, id, product_id, license_model_id, quantity_per_key, expire_after, retailer, request_id, split_from)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			tenant, newID, src.ProductID, src.LicenseModelID, src.QuantityPerKey, src.ExpireAfter, retailer, "split:"+requestID, src.ID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE web_register_keys SET bulk_id = $3 WHERE tenant_id = $1 AND key IN (
			SELECT key FROM web_register_keys WHERE tenant_id = $1 AND bulk_id = $2 AND redeemed_by IS NULL ORDER BY key LIMIT $4)`,
			tenant, src.ID, newID, keyCount)
		if err != nil {
			return err
		}
		if tag.RowsAffected() < int64(keyCount) {
			return errs.FailedPrecondition("KEYS_EXCEEDED", "bulk entitlement %s has %d unredeemed keys, %d asked for", src.ID, tag.RowsAffected(), keyCount)
		}
		_, err = events.Write(ctx, tx, events.Subject("entitlement", "bulk_entitlement", "split"), tenant, &eventspb.BulkEntitlementCreated{
			BulkEntitlementId: newID, ProductId: src.ProductID, KeyCount: int32(keyCount), //nolint:gosec // at most 10,000
		})
		return err
	})
	if err != nil {
		return app.BulkEntitlement{}, err
	}
	return s.GetBulkEntitlement(ctx, tenant, newID)
}
