package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/events"
)

// ListExpiring selects the expiring-entitlements view's rows, soonest end first:
// subscription lines end at their expiry, maintenance (a maintenance line, or any
// line with a maintenance end) at its maintenance end.
func (s *Store) ListExpiring(ctx context.Context, tenant string, f app.ExpiringFilter, limit int) ([]app.ExpiringLineItem, error) {
	rows, err := s.pool.Query(ctx, `WITH ends AS (
			SELECT `+lineItemCols+`,
				CASE WHEN line_type = 'subscription' THEN 'subscription' ELSE 'maintenance' END AS kind,
				CASE WHEN line_type = 'subscription' THEN expire_time ELSE coalesce(maintenance_expire_time, expire_time) END AS ends
			FROM line_items
			WHERE tenant_id = $1 AND quantity > 0
			  AND (($2 AND line_type = 'subscription') OR ($3 AND (line_type = 'maintenance' OR maintenance_expire_time IS NOT NULL)))
			  AND ($4 OR account_id = ANY($5)) AND ($6 = '' OR entitlement_id = $6) AND ($7 = '' OR activation_id = $7)
			  AND ($8 = '' OR product_id ILIKE $8 OR activation_id ILIKE $8 OR account_id ILIKE $8 OR account_id = ANY($9)))
		SELECT * FROM ends WHERE ends IS NOT NULL AND (($10 AND ends >= $12 AND ends < $13) OR ($11 AND ends < $12))
		ORDER BY ends, activation_id LIMIT $14`,
		tenant, f.Subscription, f.Maintenance, f.Scope.All || f.Scope.EntitlementID != "" || f.Scope.ActivationID != "", f.Scope.AccountIDs,
		f.Scope.EntitlementID, f.Scope.ActivationID, f.Like, nonNilList(f.NamedAccounts), f.Expiring, f.Expired, f.Now, f.Until, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.ExpiringLineItem, error) {
		var x app.ExpiringLineItem
		err := scanLineItemInto(r, &x.LineItem, &x.Kind, &x.EndTime)
		return x, err
	})
}

// RecordRenewalRequest writes the event that mails a renewal request.
func (s *Store) RecordRenewalRequest(ctx context.Context, tenant string, activationIDs []string, userID, note, summary string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := events.Write(ctx, tx, events.Subject("entitlement", "renewal", "requested"), tenant, &eventspb.RenewalRequested{
			ActivationIds: activationIDs, UserId: userID, Note: note, Summary: summary,
		})
		return err
	})
}
