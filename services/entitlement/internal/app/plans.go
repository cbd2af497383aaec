package app

import (
	"context"
	"slices"
	"time"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/ids"
)

// ServicePlan is a product sold by the unit that partners assign to customers.
type ServicePlan struct {
	ID, DisplayName, Description, ProductID, LicenseModelID, Unit, RequestID string
	CreateTime                                                               time.Time
}

// CreateServicePlan validates and stores a service plan; its product must be sold
// under its license model.
func (a *App) CreateServicePlan(ctx context.Context, sp ServicePlan) (ServicePlan, error) {
	tenant := authz.MustTenant(ctx)
	var v errs.Violations
	sp.ID = ids.Resolve(&v, "service_plan_id", tenant, "SP", sp.ID, sp.RequestID)
	v.Require("service_plan.display_name", sp.DisplayName)
	v.Require("service_plan.product", sp.ProductID)
	v.Require("service_plan.license_model", sp.LicenseModelID)
	v.Require("service_plan.unit", sp.Unit)
	if len(sp.Unit) > 40 {
		v.Add("service_plan.unit", "must be at most 40 characters")
	}
	if err := v.Err(); err != nil {
		return ServicePlan{}, err
	}
	p, err := a.store.GetProduct(ctx, tenant, sp.ProductID)
	if errs.IsKind(err, errs.KindNotFound) {
		return ServicePlan{}, errs.Invalid("service_plan.product", "product %q does not exist", sp.ProductID)
	}
	if err != nil {
		return ServicePlan{}, err
	}
	if !slices.Contains(p.LicenseModelIDs, sp.LicenseModelID) {
		return ServicePlan{}, errs.Invalid("service_plan.license_model", "product %q is not sold under license model %q", sp.ProductID, sp.LicenseModelID)
	}
	return a.store.CreateServicePlan(ctx, tenant, sp)
}

// GetServicePlan reads a service plan.
func (a *App) GetServicePlan(ctx context.Context, id string) (ServicePlan, error) {
	return a.store.GetServicePlan(ctx, authz.MustTenant(ctx), id)
}

// ListServicePlans lists a page of the tenant's service plans.
func (a *App) ListServicePlans(ctx context.Context, q filter.Query) ([]ServicePlan, string, error) {
	return a.store.ListServicePlans(ctx, authz.MustTenant(ctx), q)
}

// PlanAssignment gives an account units of a service plan.
type PlanAssignment struct {
	ServicePlanID, AccountID, RequestID string
	Units                               int64
	StartTime                           *time.Time
}

// maxUnits bounds one assignment; larger numbers are typing errors.
const maxUnits = 1_000_000_000

// AssignServicePlan records the units as an entitlement of the account with one
// deployed line item. With a request ID the entitlement's order ID derives from it,
// so a retry returns the first assignment.
func (a *App) AssignServicePlan(ctx context.Context, in PlanAssignment) (Entitlement, error) {
	var v errs.Violations
	v.Require("service_plan", in.ServicePlanID)
	v.Require("account", in.AccountID)
	if in.Units <= 0 || in.Units > maxUnits {
		v.Add("units", "must be between 1 and %d", maxUnits)
	}
	if len(in.RequestID) > 128 {
		v.Add("request_id", "must be at most 128 characters")
	}
	if err := v.Err(); err != nil {
		return Entitlement{}, err
	}
	p, _ := authz.FromContext(ctx)
	tenant := p.GetTenantId()
	if !authz.CanActFor(p, in.AccountID) {
		return Entitlement{}, errs.NotFound("account", in.AccountID)
	}
	sp, err := a.store.GetServicePlan(ctx, tenant, in.ServicePlanID)
	if err != nil {
		return Entitlement{}, err
	}
	exists, err := a.accounts.AccountExists(ctx, in.AccountID)
	if err != nil {
		return Entitlement{}, err
	}
	if !exists {
		return Entitlement{}, errs.NotFound("account", in.AccountID)
	}
	start := in.StartTime
	if start == nil {
		now := a.now()
		start = &now
	}
	e := Entitlement{
		ID: ids.New("ENT", 3), AccountID: in.AccountID, OrderID: ids.ForRequest(tenant, "PLAN", in.RequestID), ServicePlanID: sp.ID, Origin: OriginServicePlan,
		LineItems: []LineItem{{
			ActivationID: ids.New("ACT", 4), ProductID: sp.ProductID, LicenseModelID: sp.LicenseModelID,
			State: StateDeployed, OrderLine: "1", Quantity: in.Units, StartTime: start,
		}},
	}
	got, created, err := a.store.CreateEntitlement(ctx, tenant, e)
	if created {
		a.counters.ordersIngested.Add(ctx, 1, tenantAttr(tenant))
	}
	return got, err
}
