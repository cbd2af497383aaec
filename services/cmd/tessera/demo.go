package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/suite"
)

// demoUserPassword is the sample customer's password; demo data is for laptops only.
const demoUserPassword = "Demo-Customer-1"

// loadDemo creates sample data once: a customer account with a user, a product sold
// under a floating license model, an order for it, and a download package. Every
// step is idempotent, so restarts with --demo change nothing.
func loadDemo(ctx context.Context, s *suite.Suite, tenant string) (string, error) {
	perms := make([]string, 0, len(authz.RoleProducerAdmin.Permissions))
	for _, p := range authz.RoleProducerAdmin.Permissions {
		perms = append(perms, string(p))
	}
	signed, err := s.Signer.Sign(&commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: tenant, Username: "tessera-dev",
		TenantWide: true, Permissions: perms,
	})
	if err != nil {
		return "", err
	}
	ctx = authz.Outgoing(ctx, signed)
	conn := func(name string) (*grpc.ClientConn, error) {
		return grpc.NewClient(s.Addrs[name], grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	accConn, err := conn("account")
	if err != nil {
		return "", err
	}
	defer func() { _ = accConn.Close() }()
	entConn, err := conn("entitlement")
	if err != nil {
		return "", err
	}
	defer func() { _ = entConn.Close() }()
	dlConn, err := conn("download")
	if err != nil {
		return "", err
	}
	defer func() { _ = dlConn.Close() }()

	acc := accountpb.NewAccountServiceClient(accConn)
	cat := entitlementpb.NewCatalogServiceClient(entConn)
	ent := entitlementpb.NewEntitlementServiceClient(entConn)
	dl := downloadpb.NewDownloadServiceClient(dlConn)
	steps := []func() error{
		func() error {
			_, err := acc.CreateAccount(ctx, &accountpb.CreateAccountRequest{AccountId: "DEMO-CUSTOMER", Account: &accountpb.Account{
				DisplayName: "Demo Customer GmbH", Type: accountpb.AccountType_ACCOUNT_TYPE_CUSTOMER,
				Address: &commonpb.Address{City: "Berlin", Country: "DE"},
			}})
			return err
		},
		func() error {
			_, err := acc.CreateUser(ctx, &accountpb.CreateUserRequest{Password: demoUserPassword, User: &accountpb.User{
				Username: "demo-customer", FirstName: "Dana", LastName: "Demo", Email: "dana@customer.example",
				Memberships: []*accountpb.Membership{{Account: "accounts/DEMO-CUSTOMER", Roles: []string{authz.RoleCustomerAdmin.ID}}},
			}})
			return err
		},
		func() error {
			_, err := cat.CreateLicenseModel(ctx, &entitlementpb.CreateLicenseModelRequest{LicenseModelId: "demo-floating", LicenseModel: &entitlementpb.LicenseModel{
				DisplayName: "Floating, counted", Type: entitlementpb.LicenseModelType_LICENSE_MODEL_TYPE_FLOATING_COUNTED,
				AllowedHostIdTypes: []string{"HOSTNAME", "ETHER"},
			}})
			return err
		},
		func() error {
			_, err := cat.CreateProduct(ctx, &entitlementpb.CreateProductRequest{ProductId: "demo-designer", Product: &entitlementpb.Product{
				DisplayName: "Demo Designer", Version: "3.1", LicenseTechnology: entitlementpb.LicenseTechnology_LICENSE_TECHNOLOGY_CERTIFICATE,
				Features:      []*entitlementpb.Feature{{Name: "designer", Version: "3.1"}, {Name: "render", Version: "3.1"}},
				LicenseModels: []string{"licenseModels/demo-floating"}, PartNumbers: []string{"DD-310-FL"},
			}})
			return err
		},
		func() error {
			_, err := dl.CreatePackage(ctx, &downloadpb.CreatePackageRequest{PackageId: "demo-designer-3.1", Package: &downloadpb.Package{
				DisplayName: "Demo Designer 3.1", Product: "products/demo-designer",
			}})
			return err
		},
		func() error {
			_, err := dl.CreateFile(ctx, &downloadpb.CreateFileRequest{
				Parent: "packages/demo-designer-3.1", Filename: "README.txt", RequestId: "demo-readme",
				Content: []byte("Demo Designer 3.1\n\nThis file stands in for an installer.\n"),
			})
			return err
		},
	}
	for _, step := range steps {
		if err := step(); err != nil && status.Code(err) != codes.AlreadyExists {
			return "", err
		}
	}
	e, err := ent.CreateOrder(ctx, &entitlementpb.CreateOrderRequest{
		OrderId: "DEMO-SO-1", SoldTo: "accounts/DEMO-CUSTOMER", ShipToEmails: []string{"dana@customer.example"},
		Lines: []*entitlementpb.OrderLine{{LineNumber: "1", Product: "products/demo-designer", LicenseModel: "licenseModels/demo-floating", Quantity: 25}},
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("customer account DEMO-CUSTOMER, user demo-customer / %s, activation ID %s (25 seats), package demo-designer-3.1",
		demoUserPassword, e.GetLineItems()[0].GetActivationId()), nil
}
