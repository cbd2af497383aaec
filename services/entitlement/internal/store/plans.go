package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-dev/tessera/services/entitlement/internal/app"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/pg"
)

var servicePlans = catalogTable[app.ServicePlan]{
	table: "service_plans", resource: "service plan",
	cols: `id, display_name, description, product_id, license_model_id, unit, coalesce(request_id, ''), created_at`,
	scan: func(row pgx.Row) (app.ServicePlan, error) {
		var sp app.ServicePlan
		err := row.Scan(&sp.ID, &sp.DisplayName, &sp.Description, &sp.ProductID, &sp.LicenseModelID, &sp.Unit, &sp.RequestID, &sp.CreateTime)
		return sp, err
	},
}

// CreateServicePlan inserts sp, or returns the plan created earlier with the same
// request ID.
func (s *Store) CreateServicePlan(ctx context.Context, tenant string, sp app.ServicePlan) (app.ServicePlan, error) {
	return servicePlans.create(ctx, s, tenant, sp.ID, sp.DisplayName, sp.RequestID,
		`INSERT INTO service_plans (tenant_id, id, display_name, description, product_id, license_model_id, unit, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		tenant, sp.ID, sp.DisplayName, sp.Description, sp.ProductID, sp.LicenseModelID, sp.Unit, pg.NullIfEmpty(sp.RequestID))
}

// GetServicePlan reads one service plan.
func (s *Store) GetServicePlan(ctx context.Context, tenant, id string) (app.ServicePlan, error) {
	return servicePlans.get(ctx, s, tenant, id)
}

// ListServicePlans lists a page of a tenant's service plans by ID.
func (s *Store) ListServicePlans(ctx context.Context, tenant string, q filter.Query) ([]app.ServicePlan, string, error) {
	return servicePlans.page(ctx, s, tenant, filter.Schema{}, q, func(sp app.ServicePlan) string { return sp.ID })
}
