package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

const servicePlanCols = `id, display_name, description, product_id, license_model_id, unit, coalesce(request_id, ''), created_at`

func scanServicePlan(row pgx.Row) (app.ServicePlan, error) {
	var sp app.ServicePlan
	err := row.Scan(&sp.ID, &sp.DisplayName, &sp.Description, &sp.ProductID, &sp.LicenseModelID, &sp.Unit, &sp.RequestID, &sp.CreateTime)
	return sp, err
}

// CreateServicePlan inserts sp, or returns the plan created earlier with the same
// request ID.
func (s *Store) CreateServicePlan(ctx context.Context, tenant string, sp app.ServicePlan) (app.ServicePlan, error) {
	_, err := s.pool.Exec(ctx, `INSERT INTO service_plans (tenant_id, id, display_name, description, product_id, license_model_id, unit, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		tenant, sp.ID, sp.DisplayName, sp.Description, sp.ProductID, sp.LicenseModelID, sp.Unit, pg.NullIfEmpty(sp.RequestID))
	if e := errs.FromPostgres(err); e != nil && e.Kind == errs.KindAlreadyExists {
		if sp.RequestID != "" {
			prev, perr := scanServicePlan(s.pool.QueryRow(ctx, `SELECT `+servicePlanCols+` FROM service_plans WHERE tenant_id = $1 AND request_id = $2`, tenant, sp.RequestID))
			if perr == nil {
				return prev, nil
			}
		}
		return app.ServicePlan{}, errs.AlreadyExists("service plan", sp.ID)
	}
	if err != nil {
		return app.ServicePlan{}, err
	}
	return s.GetServicePlan(ctx, tenant, sp.ID)
}

// GetServicePlan reads one service plan.
func (s *Store) GetServicePlan(ctx context.Context, tenant, id string) (app.ServicePlan, error) {
	sp, err := scanServicePlan(s.pool.QueryRow(ctx, `SELECT `+servicePlanCols+` FROM service_plans WHERE tenant_id = $1 AND id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sp, errs.NotFound("service plan", id)
	}
	return sp, err
}

// ListServicePlans lists a tenant's service plans by ID.
func (s *Store) ListServicePlans(ctx context.Context, tenant string) ([]app.ServicePlan, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+servicePlanCols+` FROM service_plans WHERE tenant_id = $1 ORDER BY id`, tenant)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (app.ServicePlan, error) { return scanServicePlan(r) })
}
