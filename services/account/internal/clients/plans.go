package clients

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
)

// ServicePlans checks and assigns service plans in the entitlement service.
type ServicePlans struct {
	Catalog entitlementpb.CatalogServiceClient
	Ent     entitlementpb.EntitlementServiceClient
}

// Check implements app.ServicePlans.
func (s ServicePlans) Check(ctx context.Context, planID string) error {
	_, err := s.Catalog.GetServicePlan(ctx, &entitlementpb.GetServicePlanRequest{Name: "servicePlans/" + planID})
	return err
}

// Assign implements app.ServicePlans.
func (s ServicePlans) Assign(ctx context.Context, planID, accountID string, units int64, start *time.Time, requestID string) (string, error) {
	req := &entitlementpb.AssignServicePlanRequest{
		ServicePlan: "servicePlans/" + planID, Account: "accounts/" + accountID, Units: units, RequestId: requestID,
	}
	if start != nil {
		req.StartTime = timestamppb.New(*start)
	}
	e, err := s.Ent.AssignServicePlan(ctx, req)
	return strings.TrimPrefix(e.GetName(), "entitlements/"), err
}

// ProductLines checks product lines in the catalog.
type ProductLines struct {
	Catalog entitlementpb.CatalogServiceClient
}

// CheckProductLine implements app.ProductLines.
func (p ProductLines) CheckProductLine(ctx context.Context, id string) error {
	_, err := p.Catalog.GetProductLine(ctx, &entitlementpb.GetProductLineRequest{Name: "productLines/" + id})
	return err
}

// Expiring reads the expiring-entitlements view of the entitlement service.
type Expiring struct {
	Ent entitlementpb.EntitlementServiceClient
}

// ExpiringFor implements app.Expiring.
func (e Expiring) ExpiringFor(ctx context.Context, accountIDs []string, days int) ([]app.ExpiringItem, error) {
	req := &entitlementpb.ListExpiringLineItemsRequest{Expiring: true, WithinDays: int32(days)} //nolint:gosec // a small window
	for _, id := range accountIDs {
		req.Accounts = append(req.Accounts, "accounts/"+id)
	}
	resp, err := e.Ent.ListExpiringLineItems(ctx, req)
	if err != nil {
		return nil, err
	}
	out := make([]app.ExpiringItem, 0, len(resp.GetItems()))
	for _, it := range resp.GetItems() {
		out = append(out, app.ExpiringItem{
			ActivationID: it.GetLineItem().GetActivationId(), ProductID: strings.TrimPrefix(it.GetLineItem().GetProduct(), "products/"),
			AccountName: it.GetAccountName(), Kind: it.GetKind(), EndTime: it.GetEndTime().AsTime(), DaysRemaining: it.GetDaysRemaining(),
		})
	}
	return out, nil
}
