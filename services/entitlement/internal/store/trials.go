package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	eventspb "github.com/tessera-dev/tessera/gen/tessera/events/v1"
	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
)

const trialCols = `part_number, display_name, product_id, license_model_id, quantity, duration_days, created_at`

func scanTrial(row pgx.Row) (app.Trial, error) {
	var t app.Trial
	err := row.Scan(&t.PartNumber, &t.DisplayName, &t.ProductID, &t.LicenseModelID, &t.Quantity, &t.DurationDays, &t.CreateTime)
	return t, err
}

// CreateTrial stores a trial offer.
func (s *Store) CreateTrial(ctx context.Context, tenant string, t app.Trial) (app.Trial, error) {
	var got app.Trial
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		got, err = scanTrial(tx.QueryRow(ctx, `INSERT INTO trials (tenant_id, part_number, display_name, product_id, license_model_id, quantity, duration_days)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+trialCols, tenant, t.PartNumber, t.DisplayName, t.ProductID, t.LicenseModelID, t.Quantity, t.DurationDays))
		if err != nil {
			return err
		}
		return catalogChanged(ctx, tx, tenant, "trial", t.PartNumber, t.DisplayName, "created")
	})
	if errs.IsKind(err, errs.KindAlreadyExists) {
		return got, errs.AlreadyExists("trial", t.PartNumber)
	}
	return got, err
}

// AvailableTrials lists the trials userID has not registered for.
func (s *Store) AvailableTrials(ctx context.Context, tenant, userID string) ([]app.Trial, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+trialCols+` FROM trials t WHERE tenant_id = $1 AND NOT EXISTS (
		SELECT 1 FROM trial_registrations r WHERE r.tenant_id = t.tenant_id AND r.part_number = t.part_number AND r.user_id = $2)
		ORDER BY part_number`, tenant, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.Trial, error) { return scanTrial(r) })
}

// RegisterTrials records the registrations and stores their entitlements, with the
// trials.registered event, in one transaction; a trial the user registered for
// before fails the whole batch.
func (s *Store) RegisterTrials(ctx context.Context, tenant, userID, accountID string, partNumbers []string, ents []app.Entitlement) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		ids := make([]string, len(ents))
		for i, e := range ents {
			if _, err := tx.Exec(ctx, `INSERT INTO trial_registrations (tenant_id, user_id, part_number, entitlement_id) VALUES ($1, $2, $3, $4)`,
				tenant, userID, partNumbers[i], e.ID); err != nil {
				if errs.IsKind(err, errs.KindAlreadyExists) {
					return errs.FailedPrecondition("TRIAL_REGISTERED", "you registered for trial %s already", partNumbers[i])
				}
				return err
			}
			if _, err := insertEntitlement(ctx, tx, tenant, e); err != nil {
				return err
			}
			ids[i] = e.ID
		}
		_, err := events.Write(ctx, tx, events.Subject("entitlement", "trial", "registered"), tenant, &eventspb.TrialsRegistered{
			UserId: userID, AccountId: accountID, PartNumbers: partNumbers, EntitlementIds: ids,
		})
		return err
	})
}
