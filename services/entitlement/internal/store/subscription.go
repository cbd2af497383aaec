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
)

// SetSubscriptionToken stores an account's token hash, replacing any earlier one.
func (s *Store) SetSubscriptionToken(ctx context.Context, tenant, accountID string, hash []byte, by string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO subscription_tokens (tenant_id, account_id, token_hash, created_by) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id, account_id) DO UPDATE SET token_hash = excluded.token_hash, created_by = excluded.created_by, created_at = now()`,
			tenant, accountID, hash, by); err != nil {
			return err
		}
		_, err := events.Write(ctx, tx, events.Subject("entitlement", "subscription_token", "created"), tenant, &eventspb.SubscriptionTokenChanged{AccountId: accountID})
		return err
	})
}

// RevokeSubscriptionToken deletes an account's token.
func (s *Store) RevokeSubscriptionToken(ctx context.Context, tenant, accountID string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM subscription_tokens WHERE tenant_id = $1 AND account_id = $2`, tenant, accountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errs.NotFound("subscription token", accountID)
		}
		_, err = events.Write(ctx, tx, events.Subject("entitlement", "subscription_token", "revoked"), tenant, &eventspb.SubscriptionTokenChanged{AccountId: accountID})
		return err
	})
}

// SubscriptionAccount finds the account a token hash belongs to.
func (s *Store) SubscriptionAccount(ctx context.Context, tenant string, hash []byte) (string, error) {
	var account string
	err := s.pool.QueryRow(ctx, `SELECT account_id FROM subscription_tokens WHERE tenant_id = $1 AND token_hash = $2`, tenant, hash).Scan(&account)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errs.NotFound("subscription token", "")
	}
	return account, err
}

// UsableLineItems lists an account's line items an appliance may use at now:
// deployed, quantity above 0, started (or starting at first use), not expired.
func (s *Store) UsableLineItems(ctx context.Context, tenant, accountID string, now time.Time) ([]app.LineItem, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+lineItemCols+` FROM line_items WHERE tenant_id = $1 AND account_id = $2 AND state = 'deployed' AND quantity > 0
		AND (start_time IS NULL OR start_time <= $3) AND (expire_time IS NULL OR expire_time > $3) ORDER BY activation_id`, tenant, accountID, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.LineItem, error) { return scanLineItem(r) })
}
