package suitetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
)

// Seeded names what SeedLineItem created.
type Seeded struct {
	Tenant       string
	AccountID    string
	ProductID    string
	ActivationID string
}

// SeedLineItem creates tenant (if new), a customer account, a floating-counted
// product and an order with one line item of quantity seats, over gRPC.
func (e *Env) SeedLineItem(t testing.TB, tenant string, quantity int64) Seeded {
	t.Helper()
	acc := accountpb.NewAccountServiceClient(e.Dial(t, "account"))
	_, err := acc.CreateTenant(e.As(t, Operator()), &accountpb.CreateTenantRequest{
		TenantId: tenant, DisplayName: tenant, AdminUsername: "admin", AdminEmail: "admin@" + tenant + ".example", AdminPassword: "Admin-Password-1",
	})
	if err != nil {
		require.Contains(t, err.Error(), "already exists")
	}
	ctx := e.As(t, Producer(tenant))
	a, err := acc.CreateAccount(ctx, &accountpb.CreateAccountRequest{Account: &accountpb.Account{DisplayName: "Customer", Type: accountpb.AccountType_ACCOUNT_TYPE_CUSTOMER}})
	require.NoError(t, err)
	cat := entitlementpb.NewCatalogServiceClient(e.Dial(t, "entitlement"))
	lm, err := cat.CreateLicenseModel(ctx, &entitlementpb.CreateLicenseModelRequest{LicenseModel: &entitlementpb.LicenseModel{
		DisplayName: "Floating", Type: entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_FLOATING_COUNTED,
	}})
	require.NoError(t, err)
	p, err := cat.CreateProduct(ctx, &entitlementpb.CreateProductRequest{Product: &entitlementpb.Product{
		DisplayName: "Product", Version: "1.0", LicenseTechnology: entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_CERTIFICATE,
		Features: []*entitlementpb.Feature{{Name: "feat", Version: "1.0"}}, LicenseModels: []string{lm.GetName()},
	}})
	require.NoError(t, err)
	ent := entitlementpb.NewEntitlementServiceClient(e.Dial(t, "entitlement"))
	en, err := ent.CreateOrder(ctx, &entitlementpb.CreateOrderRequest{
		OrderId: "SO-" + a.GetAccountId(), SoldTo: a.GetName(),
		Lines: []*entitlementpb.OrderLine{{LineNumber: "1", Product: p.GetName(), LicenseModel: lm.GetName(), Quantity: quantity}},
	})
	require.NoError(t, err)
	return Seeded{Tenant: tenant, AccountID: a.GetAccountId(), ProductID: p.GetProductId(), ActivationID: en.GetLineItems()[0].GetActivationId()}
}
