package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// keyQueries find what each kind of ID names: entitlement, activation ID, owner.
var keyQueries = map[string]string{
	app.KeyEntitlementID: `SELECT id, '', account_id FROM entitlements WHERE tenant_id = $1 AND id = $2`,
	app.KeyActivationID:  `SELECT entitlement_id, activation_id, account_id FROM line_items WHERE tenant_id = $1 AND activation_id = $2`,
	app.KeyOrderID:       `SELECT id, '', account_id FROM entitlements WHERE tenant_id = $1 AND order_id = $2`,
}

// ResolveKey looks key up as one kind of ID.
func (s *Store) ResolveKey(ctx context.Context, tenant, kind, key string) (app.EntitlementKey, error) {
	k := app.EntitlementKey{Kind: kind, Key: key}
	q, ok := keyQueries[kind]
	if !ok {
		return k, errs.Invalid("kinds", "unknown kind %q", kind)
	}
	err := s.pool.QueryRow(ctx, q, tenant, key).Scan(&k.EntitlementID, &k.ActivationID, &k.AccountID)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, errs.NotFound("entitlement key", key)
	}
	return k, err
}

// AssignKey gives an unowned entitlement (with its unowned line items) or line item
// to the account, with the entitlement.assigned event. The owner is re-checked under
// the row lock, so of two racing claims exactly one wins.
func (s *Store) AssignKey(ctx context.Context, tenant string, k app.EntitlementKey, accountID string) (app.EntitlementKey, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var owner string
		var moved []string
		var err error
		if k.Kind == app.KeyActivationID {
			err = tx.QueryRow(ctx, `SELECT account_id FROM line_items WHERE tenant_id = $1 AND activation_id = $2 FOR UPDATE`, tenant, k.ActivationID).Scan(&owner)
		} else {
			err = tx.QueryRow(ctx, `SELECT account_id FROM entitlements WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenant, k.EntitlementID).Scan(&owner)
		}
		if err != nil {
			return err
		}
		switch owner {
		case accountID:
			return nil // a racing or retried claim for the same account got here first
		case "":
		default:
			return errs.FailedPrecondition("KEY_ALREADY_OWNED", "%s already belongs to another account", k.Key)
		}
		if k.Kind == app.KeyActivationID {
			if _, err := tx.Exec(ctx, `UPDATE line_items SET account_id = $3 WHERE tenant_id = $1 AND activation_id = $2`, tenant, k.ActivationID, accountID); err != nil {
				return err
			}
			moved = []string{k.ActivationID}
		} else {
			if _, err := tx.Exec(ctx, `UPDATE entitlements SET account_id = $3 WHERE tenant_id = $1 AND id = $2`, tenant, k.EntitlementID, accountID); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `UPDATE line_items SET account_id = $3 WHERE tenant_id = $1 AND entitlement_id = $2 AND account_id = ''
				RETURNING activation_id`, tenant, k.EntitlementID, accountID)
			if err != nil {
				return err
			}
			if moved, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
		}
		_, err = events.Write(ctx, tx, events.Subject("entitlement", "entitlement", "assigned"), tenant, &eventspb.EntitlementAssigned{
			EntitlementId: k.EntitlementID, ActivationId: k.ActivationID, AccountId: accountID, ActivationIds: moved,
		})
		return err
	})
	if err != nil {
		return k, err
	}
	k.AccountID = accountID
	return k, nil
}
