package suite_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

// PLT-6: every create a caller may retry takes a request_id; the retry returns the
// resource the first call made (same generated ID) and creates nothing more.
func TestRetriedCreatesApplyOnce_PLT6(t *testing.T) {
	env := suitetest.Start(t)
	c := dialAll(t, env)
	seed := env.SeedLineItem(t, "retry-co", 5)
	ctx := env.As(t, suitetest.Producer("retry-co"))

	twice := func(name string, call func() (proto.Message, error), nameOf func(proto.Message) string) {
		first, err := call()
		require.NoError(t, err, name)
		second, err := call()
		require.NoError(t, err, "%s retried", name)
		require.Equal(t, nameOf(first), nameOf(second), name)
	}
	twice("CreateAccount", func() (proto.Message, error) {
		return c.acc.CreateAccount(ctx, &accountpb.CreateAccountRequest{RequestId: "r-acc", Account: &accountpb.Account{DisplayName: "A", Type: accountpb.AccountType_ACCOUNT_TYPE_CUSTOMER}})
	}, func(m proto.Message) string { return m.(*accountpb.Account).GetName() })
	twice("CreateUser", func() (proto.Message, error) {
		return c.acc.CreateUser(ctx, &accountpb.CreateUserRequest{RequestId: "r-usr", Password: "Retry-Password-1", User: &accountpb.User{
			Username: "retry", FirstName: "R", LastName: "R", Email: "r@x.example",
			Memberships: []*accountpb.Membership{{Account: "accounts/" + seed.AccountID, Roles: []string{"customer_user"}}},
		}})
	}, func(m proto.Message) string { return m.(*accountpb.User).GetName() })
	twice("CreateLicenseModel", func() (proto.Message, error) {
		return c.cat.CreateLicenseModel(ctx, &entitlementpb.CreateLicenseModelRequest{RequestId: "r-lm", LicenseModel: &entitlementpb.LicenseModel{DisplayName: "M", Type: entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_NODELOCKED_UNCOUNTED}})
	}, func(m proto.Message) string { return m.(*entitlementpb.LicenseModel).GetName() })
	twice("CreateProduct", func() (proto.Message, error) {
		return c.cat.CreateProduct(ctx, &entitlementpb.CreateProductRequest{RequestId: "r-prd", Product: &entitlementpb.Product{DisplayName: "P", LicenseTechnology: entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_CERTIFICATE}})
	}, func(m proto.Message) string { return m.(*entitlementpb.Product).GetName() })
	twice("CreateDevice", func() (proto.Message, error) {
		return c.dev.CreateDevice(ctx, &devicepb.CreateDeviceRequest{RequestId: "r-dev", Device: &devicepb.Device{Account: "accounts/" + seed.AccountID, DisplayName: "D", Type: devicepb.DeviceType_DEVICE_TYPE_SERVER}})
	}, func(m proto.Message) string { return m.(*devicepb.Device).GetName() })
	twice("CreatePackage", func() (proto.Message, error) {
		return c.dl.CreatePackage(ctx, &downloadpb.CreatePackageRequest{RequestId: "r-pkg", Package: &downloadpb.Package{DisplayName: "P", Product: "products/" + seed.ProductID}})
	}, func(m proto.Message) string { return m.(*downloadpb.Package).GetName() })
	twice("CreateFile", func() (proto.Message, error) {
		return c.dl.CreateFile(ctx, &downloadpb.CreateFileRequest{RequestId: "r-file", Parent: "packages/" + packageID(t, c, ctx, "r-pkg", seed), Filename: "f.bin", Content: []byte("x")})
	}, func(m proto.Message) string { return m.(*downloadpb.File).GetName() })

	list, err := c.acc.ListAccounts(ctx, &accountpb.ListAccountsRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetAccounts(), 3, "HOME, the seeded customer and one retried account")
}

// packageID returns the package the request ID created (creating it if needed).
func packageID(t *testing.T, c clients, ctx context.Context, requestID string, seed suitetest.Seeded) string {
	p, err := c.dl.CreatePackage(ctx, &downloadpb.CreatePackageRequest{RequestId: requestID, Package: &downloadpb.Package{DisplayName: "P", Product: "products/" + seed.ProductID}})
	require.NoError(t, err)
	return p.GetPackageId()
}
