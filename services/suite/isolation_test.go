package suite_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	devicepb "github.com/tessera-dev/tessera/gen/tessera/device/v1"
	downloadpb "github.com/tessera-dev/tessera/gen/tessera/download/v1"
	entitlementpb "github.com/tessera-dev/tessera/gen/tessera/entitlement/v1"
	licensepb "github.com/tessera-dev/tessera/gen/tessera/license/v1"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/suite/suitetest"
)

type clients struct {
	acc  accountpb.AccountServiceClient
	auth accountpb.AuthServiceClient
	reg  accountpb.RegistrationServiceClient
	org  accountpb.OrganizationServiceClient
	cat  entitlementpb.CatalogServiceClient
	ent  entitlementpb.EntitlementServiceClient
	lic  licensepb.LicenseServiceClient
	dev  devicepb.DeviceServiceClient
	dl   downloadpb.DownloadServiceClient
}

func dialAll(t *testing.T, env *suitetest.Env) clients {
	return clients{
		acc: accountpb.NewAccountServiceClient(env.Dial(t, "account")), auth: accountpb.NewAuthServiceClient(env.Dial(t, "account")),
		reg: accountpb.NewRegistrationServiceClient(env.Dial(t, "account")), org: accountpb.NewOrganizationServiceClient(env.Dial(t, "account")),
		cat: entitlementpb.NewCatalogServiceClient(env.Dial(t, "entitlement")), ent: entitlementpb.NewEntitlementServiceClient(env.Dial(t, "entitlement")),
		lic: licensepb.NewLicenseServiceClient(env.Dial(t, "license")), dev: devicepb.NewDeviceServiceClient(env.Dial(t, "device")),
		dl: downloadpb.NewDownloadServiceClient(env.Dial(t, "download")),
	}
}

// world is one tenant's resources, named for the calls that try to reach them.
type world struct {
	suitetest.Seeded
	userName, fulfillment, device, pkg, file, reservation string
	organization, servicePlan, licenseModel               string
}

func build(t *testing.T, env *suitetest.Env, c clients, tenant string) world {
	w := world{Seeded: env.SeedLineItem(t, tenant, 10)}
	ctx := env.As(t, suitetest.Producer(tenant))
	u, err := c.acc.CreateUser(ctx, &accountpb.CreateUserRequest{Password: "Carol-Password-1", User: &accountpb.User{
		Username: "carol", FirstName: "Carol", LastName: "C", Email: "carol@x.example",
		Memberships: []*accountpb.Membership{{Account: "accounts/" + w.AccountID, Roles: []string{"customer_admin"}}},
	}})
	require.NoError(t, err)
	w.userName = u.GetName()
	f, err := c.lic.ActivateLineItem(ctx, &licensepb.ActivateLineItemRequest{LineItem: "lineItems/" + w.ActivationID, HostId: "HOSTNAME=h1", Quantity: 1})
	require.NoError(t, err)
	w.fulfillment = f.GetName()
	d, err := c.dev.CreateDevice(ctx, &devicepb.CreateDeviceRequest{Device: &devicepb.Device{Account: "accounts/" + w.AccountID, DisplayName: "d", Type: devicepb.DeviceType_DEVICE_TYPE_STANDALONE}})
	require.NoError(t, err)
	w.device = d.GetName()
	p, err := c.dl.CreatePackage(ctx, &downloadpb.CreatePackageRequest{Package: &downloadpb.Package{DisplayName: "p", Product: "products/" + w.ProductID}})
	require.NoError(t, err)
	w.pkg = p.GetName()
	file, err := c.dl.CreateFile(ctx, &downloadpb.CreateFileRequest{Parent: p.GetName(), Filename: "a.bin", Content: []byte("hello")})
	require.NoError(t, err)
	w.file = file.GetName()
	svc := env.As(t, &commonpb.Principal{Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_SERVICE, TenantId: tenant, TenantWide: true, Permissions: []string{string(authz.SeatsReserve)}})
	r, err := c.ent.ReserveSeats(svc, &entitlementpb.ReserveSeatsRequest{ReservationId: "6a1d5a1e-0000-4000-8000-00000000000a", ActivationId: w.ActivationID, Quantity: 1, Holder: "test"})
	require.NoError(t, err)
	w.reservation = r.GetReservationId()
	carol := env.As(t, &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: tenant, UserId: u.GetUserId(),
		AccountIds: []string{w.AccountID}, Permissions: []string{string(authz.OrganizationsUse)},
	})
	o, err := c.org.CreateOrganization(carol, &accountpb.CreateOrganizationRequest{Organization: &accountpb.Organization{DisplayName: "o", PermissionKey: w.ActivationID}})
	require.NoError(t, err)
	w.organization = o.GetName()
	_, err = c.acc.CreateRole(ctx, &accountpb.CreateRoleRequest{RoleId: "victim_role", Role: &accountpb.Role{DisplayName: "v", Permissions: []string{string(authz.AccountsView)}}})
	require.NoError(t, err)
	prod, err := c.cat.GetProduct(ctx, &entitlementpb.GetProductRequest{Name: "products/" + w.ProductID})
	require.NoError(t, err)
	sp, err := c.cat.CreateServicePlan(ctx, &entitlementpb.CreateServicePlanRequest{ServicePlan: &entitlementpb.ServicePlan{
		DisplayName: "plan", Product: prod.GetName(), LicenseModel: prod.GetLicenseModels()[0], Unit: "seat",
	}})
	require.NoError(t, err)
	w.servicePlan = sp.GetName()
	w.licenseModel = prod.GetLicenseModels()[0]
	return w
}

func available(t *testing.T, env *suitetest.Env, c clients, w world) int64 {
	li, err := c.ent.GetLineItem(env.As(t, suitetest.Producer(w.Tenant)), &entitlementpb.GetLineItemRequest{Name: "lineItems/" + w.ActivationID})
	require.NoError(t, err)
	return li.GetAvailable()
}

// attempts are one call per RPC that names another party's resource, as a caller
// with every permission would make it.
func attempts(c clients, w world) map[string]func(ctx context.Context) error {
	acct := "accounts/" + w.AccountID
	li := "lineItems/" + w.ActivationID
	return map[string]func(ctx context.Context) error{
		"GetAccount": func(ctx context.Context) error {
			_, err := c.acc.GetAccount(ctx, &accountpb.GetAccountRequest{Name: acct})
			return err
		},
		"ReactivateUser": func(ctx context.Context) error {
			_, err := c.acc.ReactivateUser(ctx, &accountpb.ReactivateUserRequest{Name: w.userName})
			return err
		},
		"ResetUserPassword": func(ctx context.Context) error {
			_, err := c.acc.ResetUserPassword(ctx, &accountpb.ResetUserPasswordRequest{Name: w.userName})
			return err
		},
		"LinkSubAccount": func(ctx context.Context) error {
			_, err := c.acc.LinkSubAccount(ctx, &accountpb.LinkSubAccountRequest{Parent: acct, Child: acct})
			return err
		},
		"UpdateAccount": func(ctx context.Context) error {
			_, err := c.acc.UpdateAccount(ctx, &accountpb.UpdateAccountRequest{
				Account: &accountpb.Account{Name: acct, Description: "mine now"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
			})
			return err
		},
		"UpdateUser": func(ctx context.Context) error {
			_, err := c.acc.UpdateUser(ctx, &accountpb.UpdateUserRequest{
				User: &accountpb.User{Name: w.userName, Email: "mine@x.example"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email"}},
			})
			return err
		},
		"GetAccountTree": func(ctx context.Context) error {
			_, err := c.acc.GetAccountTree(ctx, &accountpb.GetAccountTreeRequest{Name: acct})
			return err
		},
		"DeleteAccount": func(ctx context.Context) error {
			_, err := c.acc.DeleteAccount(ctx, &accountpb.DeleteAccountRequest{Name: acct, Force: true})
			return err
		},
		"GetUser": func(ctx context.Context) error {
			_, err := c.acc.GetUser(ctx, &accountpb.GetUserRequest{Name: w.userName})
			return err
		},
		"CreateUser": func(ctx context.Context) error {
			_, err := c.acc.CreateUser(ctx, &accountpb.CreateUserRequest{Password: "Mallory-Pass-1", User: &accountpb.User{
				Username: "mallory", FirstName: "M", LastName: "M", Email: "m@x.example",
				Memberships: []*accountpb.Membership{{Account: acct, Roles: []string{"customer_admin"}}},
			}})
			return err
		},
		"GetProduct": func(ctx context.Context) error {
			_, err := c.cat.GetProduct(ctx, &entitlementpb.GetProductRequest{Name: "products/" + w.ProductID})
			return err
		},
		"GetLineItem": func(ctx context.Context) error {
			_, err := c.ent.GetLineItem(ctx, &entitlementpb.GetLineItemRequest{Name: li})
			return err
		},
		"CreateOrder": func(ctx context.Context) error {
			_, err := c.ent.CreateOrder(ctx, &entitlementpb.CreateOrderRequest{OrderId: "SO-X", SoldTo: acct, Lines: []*entitlementpb.OrderLine{{LineNumber: "1", Product: "products/" + w.ProductID, LicenseModel: "licenseModels/x", Quantity: 1}}})
			return err
		},
		"ActivateLineItem": func(ctx context.Context) error {
			_, err := c.lic.ActivateLineItem(ctx, &licensepb.ActivateLineItemRequest{LineItem: li, HostId: "HOSTNAME=x", Quantity: 1})
			return err
		},
		"GetFulfillment": func(ctx context.Context) error {
			_, err := c.lic.GetFulfillment(ctx, &licensepb.GetFulfillmentRequest{Name: w.fulfillment})
			return err
		},
		"ActivateLineItems": func(ctx context.Context) error {
			_, err := c.lic.ActivateLineItems(ctx, &licensepb.ActivateLineItemsRequest{
				Lines: []*licensepb.ActivationLine{{LineItem: li}}, Hosts: []*licensepb.HostGroup{{ServerHostIds: []string{"HOSTNAME=x"}}}, ValidateOnly: true,
			})
			return err
		},
		"ValidateHostId": func(ctx context.Context) error {
			_, err := c.lic.ValidateHostId(ctx, &licensepb.ValidateHostIdRequest{HostId: "HOSTNAME=x", LineItem: li})
			return err
		},
		"EmailFulfillment": func(ctx context.Context) error {
			_, err := c.lic.EmailFulfillment(ctx, &licensepb.EmailFulfillmentRequest{Name: w.fulfillment, To: []string{"x@rival.example"}})
			return err
		},
		"ReturnFulfillment": func(ctx context.Context) error {
			_, err := c.lic.ReturnFulfillment(ctx, &licensepb.ReturnFulfillmentRequest{Name: w.fulfillment})
			return err
		},
		"RepairFulfillment": func(ctx context.Context) error {
			_, err := c.lic.RepairFulfillment(ctx, &licensepb.RepairFulfillmentRequest{Name: w.fulfillment})
			return err
		},
		"RehostFulfillment": func(ctx context.Context) error {
			_, err := c.lic.RehostFulfillment(ctx, &licensepb.RehostFulfillmentRequest{Name: w.fulfillment, Hosts: &licensepb.HostGroup{ServerHostIds: []string{"HOSTNAME=y"}}})
			return err
		},
		"ConsolidateFulfillments": func(ctx context.Context) error {
			_, err := c.lic.ConsolidateFulfillments(ctx, &licensepb.ConsolidateFulfillmentsRequest{Fulfillments: []string{w.fulfillment, w.fulfillment + "X"}})
			return err
		},
		"GetUpgradeGrid": func(ctx context.Context) error {
			_, err := c.lic.GetUpgradeGrid(ctx, &licensepb.GetUpgradeGridRequest{LineItem: li})
			return err
		},
		"GetHostLicenses": func(ctx context.Context) error {
			_, err := c.lic.GetHostLicenses(ctx, &licensepb.GetHostLicensesRequest{Parent: acct, HostId: "HOSTNAME=h1"})
			return err
		},
		"TransferHosts": func(ctx context.Context) error {
			_, err := c.lic.TransferHosts(ctx, &licensepb.TransferHostsRequest{Parent: acct, HostIds: []string{"HOSTNAME=h1"}, ToAccount: "accounts/ELSEWHERE"})
			return err
		},
		"TransferHostLicenses": func(ctx context.Context) error {
			_, err := c.lic.TransferHostLicenses(ctx, &licensepb.TransferHostLicensesRequest{Parent: acct, FromHostId: "HOSTNAME=h1", ToHostId: "HOSTNAME=h2"})
			return err
		},
		"CreateDevice": func(ctx context.Context) error {
			_, err := c.dev.CreateDevice(ctx, &devicepb.CreateDeviceRequest{Device: &devicepb.Device{Account: acct, DisplayName: "x", Type: devicepb.DeviceType_DEVICE_TYPE_STANDALONE}})
			return err
		},
		"GetDevice": func(ctx context.Context) error {
			_, err := c.dev.GetDevice(ctx, &devicepb.GetDeviceRequest{Name: w.device})
			return err
		},
		"UpdateDevice": func(ctx context.Context) error {
			_, err := c.dev.UpdateDevice(ctx, &devicepb.UpdateDeviceRequest{
				Device: &devicepb.Device{Name: w.device, DisplayName: "mine"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
			})
			return err
		},
		"GetLicensePreview": func(ctx context.Context) error {
			_, err := c.dev.GetLicensePreview(ctx, &devicepb.GetLicensePreviewRequest{Name: w.device})
			return err
		},
		"ListDeviceFeatures": func(ctx context.Context) error {
			_, err := c.dev.ListDeviceFeatures(ctx, &devicepb.ListDeviceFeaturesRequest{Parent: w.device})
			return err
		},
		"SetServerAdminPassword": func(ctx context.Context) error {
			_, err := c.dev.SetServerAdminPassword(ctx, &devicepb.SetServerAdminPasswordRequest{Name: w.device, Password: "Secret-42", ConfirmPassword: "Secret-42"})
			return err
		},
		"MapLineItem": func(ctx context.Context) error {
			_, err := c.dev.MapLineItem(ctx, &devicepb.MapLineItemRequest{Device: w.device, LineItem: li, Quantity: 1})
			return err
		},
		"GetPackage": func(ctx context.Context) error {
			_, err := c.dl.GetPackage(ctx, &downloadpb.GetPackageRequest{Name: w.pkg})
			return err
		},
		"CreateFile": func(ctx context.Context) error {
			_, err := c.dl.CreateFile(ctx, &downloadpb.CreateFileRequest{Parent: w.pkg, Filename: "evil.bin", Content: []byte("x")})
			return err
		},
		"DownloadFile": func(ctx context.Context) error {
			s, err := c.dl.DownloadFile(ctx, &downloadpb.DownloadFileRequest{Name: w.file})
			if err != nil {
				return err
			}
			_, err = s.Recv()
			return err
		},
		"UpdateLicenseModel": func(ctx context.Context) error {
			_, err := c.cat.UpdateLicenseModel(ctx, &entitlementpb.UpdateLicenseModelRequest{
				LicenseModel: &entitlementpb.LicenseModel{Name: w.licenseModel, DisplayName: "mine"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
			})
			return err
		},
		"DeployLineItem": func(ctx context.Context) error {
			_, err := c.ent.DeployLineItem(ctx, &entitlementpb.DeployLineItemRequest{Name: li})
			return err
		},
		"ObsoleteLineItem": func(ctx context.Context) error {
			_, err := c.ent.ObsoleteLineItem(ctx, &entitlementpb.ObsoleteLineItemRequest{Name: li})
			return err
		},
		"UpdateProduct": func(ctx context.Context) error {
			_, err := c.cat.UpdateProduct(ctx, &entitlementpb.UpdateProductRequest{
				Product: &entitlementpb.Product{Name: "products/" + w.ProductID, DisplayName: "mine"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
			})
			return err
		},
		"BatchCreateOrders": func(ctx context.Context) error {
			_, err := c.ent.BatchCreateOrders(ctx, &entitlementpb.BatchCreateOrdersRequest{Orders: []*entitlementpb.CreateOrderRequest{
				{OrderId: "SO-Y", SoldTo: acct, Lines: []*entitlementpb.OrderLine{{LineNumber: "1", Product: "products/" + w.ProductID, LicenseModel: "licenseModels/x", Quantity: 1}}},
			}})
			return err
		},
		"ClaimEntitlementKey": func(ctx context.Context) error {
			_, err := c.reg.ClaimEntitlementKey(ctx, &accountpb.ClaimEntitlementKeyRequest{Account: acct, Key: w.ActivationID})
			return err
		},
		"ReplaceAccountAdministrator": func(ctx context.Context) error {
			_, err := c.reg.ReplaceAccountAdministrator(ctx, &accountpb.ReplaceAccountAdministratorRequest{Account: acct, User: w.userName, Reason: "takeover"})
			return err
		},
		"CreatePartnerCustomer": func(ctx context.Context) error {
			_, err := c.acc.CreatePartnerCustomer(ctx, &accountpb.CreatePartnerCustomerRequest{
				Parent: acct, AccountName: "x", AdminFirstName: "x", AdminLastName: "x", AdminEmail: "x@x.example",
			})
			return err
		},
		"AssignServicePlan": func(ctx context.Context) error {
			_, err := c.ent.AssignServicePlan(ctx, &entitlementpb.AssignServicePlanRequest{ServicePlan: w.servicePlan, Account: acct, Units: 1})
			return err
		},
		"RegisterTrials": func(ctx context.Context) error {
			_, err := c.ent.RegisterTrials(ctx, &entitlementpb.RegisterTrialsRequest{PartNumbers: []string{"T"}, Account: acct})
			return err
		},
		"GetOrganization": func(ctx context.Context) error {
			_, err := c.org.GetOrganization(ctx, &accountpb.GetOrganizationRequest{Name: w.organization})
			return err
		},
		"InviteMembers": func(ctx context.Context) error {
			_, err := c.org.InviteMembers(ctx, &accountpb.InviteMembersRequest{Organization: w.organization, Emails: "m@x.example"})
			return err
		},
		"SetMemberEnabled": func(ctx context.Context) error {
			_, err := c.org.SetMemberEnabled(ctx, &accountpb.SetMemberEnabledRequest{Organization: w.organization, User: w.userName})
			return err
		},
		"RemoveMember": func(ctx context.Context) error {
			_, err := c.org.RemoveMember(ctx, &accountpb.RemoveMemberRequest{Organization: w.organization, Member: w.userName})
			return err
		},
		"SetCoAdministrator": func(ctx context.Context) error {
			_, err := c.org.SetCoAdministrator(ctx, &accountpb.SetCoAdministratorRequest{Organization: w.organization, User: w.userName})
			return err
		},
		"GrantSeats": func(ctx context.Context) error {
			_, err := c.org.GrantSeats(ctx, &accountpb.GrantSeatsRequest{Organization: w.organization, User: w.userName, Product: "products/" + w.ProductID, Seats: 1})
			return err
		},
		"UpdateRole": func(ctx context.Context) error {
			_, err := c.acc.UpdateRole(ctx, &accountpb.UpdateRoleRequest{
				Role: &accountpb.Role{Name: "roles/victim_role", DisplayName: "mine"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
			})
			return err
		},
		"DeleteRole": func(ctx context.Context) error {
			_, err := c.acc.DeleteRole(ctx, &accountpb.DeleteRoleRequest{Name: "roles/victim_role"})
			return err
		},
		"CreatePackage": func(ctx context.Context) error {
			_, err := c.dl.CreatePackage(ctx, &downloadpb.CreatePackageRequest{Package: &downloadpb.Package{DisplayName: "x", Product: "products/" + w.ProductID}})
			return err
		},
	}
}

// refusedCodes are how a call that reaches for something invisible may fail: not
// found, or (for a reference inside a create request) invalid, or not entitled.
var refusedCodes = []codes.Code{codes.NotFound, codes.InvalidArgument, codes.PermissionDenied}

// PLT-1: a caller of another tenant, holding every permission, neither sees nor
// changes anything of this tenant, through any RPC.
func TestOtherTenantIsRefusedEverywhere(t *testing.T) {
	env := suitetest.Start(t)
	c := dialAll(t, env)
	victim := build(t, env, c, "victim")
	before := available(t, env, c, victim)
	rival := suitetest.Producer("rival")
	rival.Permissions = allPermissions()
	ctx := env.As(t, rival)
	for name, call := range attempts(c, victim) {
		err := call(ctx)
		require.Contains(t, refusedCodes, status.Code(err), "%s: %v", name, err)
		if !slices.Contains([]string{"CreateOrder", "BatchCreateOrders", "CreateUser", "CreateDevice", "CreatePackage", "CreateFile", "CreatePartnerCustomer", "RegisterTrials"}, name) {
			require.NotEqual(t, codes.InvalidArgument, status.Code(err), "%s must not reveal anything", name)
		}
	}
	// Seat calls on the victim's reservation and line item.
	_, err := c.ent.ConfirmSeats(ctx, &entitlementpb.ConfirmSeatsRequest{ReservationId: victim.reservation})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = c.ent.ReleaseSeats(ctx, &entitlementpb.ReleaseSeatsRequest{ReservationId: victim.reservation})
	require.NoError(t, err, "releasing is idempotent; in the rival's tenant it only leaves a tombstone")
	_, err = c.ent.ReserveSeats(ctx, &entitlementpb.ReserveSeatsRequest{ReservationId: "6a1d5a1e-0000-4000-8000-00000000000b", ActivationId: victim.ActivationID, Quantity: 1, Holder: "x"})
	require.Equal(t, codes.NotFound, status.Code(err))
	batch, err := c.ent.BatchReserveSeats(ctx, &entitlementpb.BatchReserveSeatsRequest{Reservations: []*entitlementpb.ReserveSeatsRequest{
		{ReservationId: "6a1d5a1e-0000-4000-8000-00000000000c", ActivationId: victim.ActivationID, Quantity: 1, Holder: "x"},
	}})
	require.NoError(t, err)
	require.Equal(t, int32(codes.NotFound), batch.GetOutcomes()[0].GetError().GetCode())
	confirmed, err := c.ent.BatchConfirmSeats(ctx, &entitlementpb.BatchConfirmSeatsRequest{ReservationIds: []string{victim.reservation}})
	require.NoError(t, err)
	require.Empty(t, confirmed.GetConfirmed())
	require.Contains(t, confirmed.GetRefused(), victim.reservation, "only the rival's own tombstone is found")
	ok, err := c.ent.CheckProductAccess(ctx, &entitlementpb.CheckProductAccessRequest{Product: "products/" + victim.ProductID, AccountIds: []string{victim.AccountID}})
	require.NoError(t, err)
	require.False(t, ok.GetAllowed())
	// Lists show only the caller's own tenant.
	list, err := c.acc.ListAccounts(ctx, &accountpb.ListAccountsRequest{})
	require.NoError(t, err)
	for _, a := range list.GetAccounts() {
		require.NotEqual(t, victim.AccountID, a.GetAccountId())
	}
	items, err := c.ent.ListLineItems(ctx, &entitlementpb.ListLineItemsRequest{IncludeSuperseded: true})
	require.NoError(t, err)
	for _, li := range items.GetLineItems() {
		require.NotEqual(t, victim.ActivationID, li.GetActivationId())
	}
	fs, err := c.lic.ListFulfillments(ctx, &licensepb.ListFulfillmentsRequest{})
	require.NoError(t, err)
	for _, f := range fs.GetFulfillments() {
		require.NotEqual(t, victim.fulfillment, f.GetName())
	}
	models, err := c.cat.ListLicenseModels(ctx, &entitlementpb.ListLicenseModelsRequest{})
	require.NoError(t, err)
	for _, m := range models.GetLicenseModels() {
		require.NotEqual(t, victim.licenseModel, m.GetName())
	}
	plans, err := c.cat.ListServicePlans(ctx, &entitlementpb.ListServicePlansRequest{})
	require.NoError(t, err)
	require.Empty(t, plans.GetServicePlans())
	roles, err := c.acc.ListRoles(ctx, &accountpb.ListRolesRequest{})
	require.NoError(t, err)
	for _, r := range roles.GetRoles() {
		require.NotEqual(t, "victim_role", r.GetRoleId())
	}
	_, err = c.lic.ListHosts(ctx, &licensepb.ListHostsRequest{Parent: "accounts/" + victim.AccountID})
	require.Equal(t, codes.NotFound, status.Code(err), "another tenant's account is not found")
	keys, err := c.lic.ListSigningKeys(ctx, &licensepb.ListSigningKeysRequest{})
	require.NoError(t, err)
	victimKeys, err := c.lic.ListSigningKeys(env.As(t, suitetest.Producer("victim")), &licensepb.ListSigningKeysRequest{})
	require.NoError(t, err)
	require.NotEqual(t, victimKeys.GetSigningKeys()[0].GetKeyId(), keys.GetSigningKeys()[0].GetKeyId())
	// Signing in needs the user's own tenant.
	_, err = c.auth.Login(t.Context(), &accountpb.LoginRequest{TenantId: "rival", Username: "carol", Password: "Carol-Password-1"})
	require.Equal(t, codes.Unauthenticated, status.Code(err))

	require.Equal(t, before, available(t, env, c, victim), "nothing of the victim changed")
}

// A customer user of one account cannot reach another account's resources in the
// same tenant.
func TestUnrelatedAccountIsRefused(t *testing.T) {
	env := suitetest.Start(t)
	c := dialAll(t, env)
	victim := build(t, env, c, "shared")
	other := env.SeedLineItem(t, "shared", 5)
	before := available(t, env, c, victim)
	customer := &commonpb.Principal{
		Kind: commonpb.PrincipalKind_PRINCIPAL_KIND_USER, TenantId: "shared", UserId: "u-other",
		AccountIds: []string{other.AccountID}, Permissions: allPermissions(),
	}
	ctx := env.As(t, customer)
	for name, call := range attempts(c, victim) {
		if name == "GetProduct" || name == "CreatePackage" || name == "CreateOrder" || name == "BatchCreateOrders" || name == "DeleteAccount" || name == "LinkSubAccount" {
			// The catalog is the tenant's, shared by its accounts; orders and the
			// account tree are the producer's (those RPCs need a tenant-wide principal).
			continue
		}
		err := call(ctx)
		require.Contains(t, refusedCodes, status.Code(err), "%s: %v", name, err)
	}
	items, err := c.ent.ListLineItems(ctx, &entitlementpb.ListLineItemsRequest{IncludeSuperseded: true})
	require.NoError(t, err)
	for _, li := range items.GetLineItems() {
		require.Equal(t, "accounts/"+other.AccountID, li.GetAccount(), "only its own account's line items")
	}
	require.Equal(t, before, available(t, env, c, victim))
}
