package authz

// Permission is a named right; every RPC declares the one it needs.
type Permission string

// The permission catalogue (SPEC ACC-7). Roles are named sets of these.
const (
	// Public marks RPCs that need no principal (login). Declared explicitly so that a
	// method missing from a service's table is refused rather than left open.
	Public Permission = "public"

	TenantsCreate    Permission = "tenants.create"
	AccountsView     Permission = "accounts.view"
	AccountsManage   Permission = "accounts.manage"
	UsersView        Permission = "users.view"
	UsersManage      Permission = "users.manage"
	CatalogView      Permission = "catalog.view"
	CatalogManage    Permission = "catalog.manage"
	EntitlementsView Permission = "entitlements.view"
	OrdersIngest     Permission = "orders.ingest"
	LicensesGenerate Permission = "licenses.generate"
	LicensesView     Permission = "licenses.view"
	SigningKeysView  Permission = "signing_keys.view"
	// LicensesAdmin runs portal-admin license operations: batch rehost, transfer of a
	// dead host's licenses (producers).
	LicensesAdmin Permission = "licenses.admin"
	// SigningKeysManage rotates the tenant's license signing keys (producers).
	SigningKeysManage Permission = "signing_keys.manage"
	DevicesView       Permission = "devices.view"
	DevicesManage     Permission = "devices.manage"
	// DevicesViewChild lets a user see the devices of the accounts below their own,
	// and those holding their line items (SPEC DEV-5).
	DevicesViewChild Permission = "devices.view_child"
	// DevicesClaim maps line items to unowned devices, which claims them (SPEC DEV-4).
	DevicesClaim Permission = "devices.claim"
	// DevicesEditUser changes a device's device user (SPEC DEV-12).
	DevicesEditUser Permission = "devices.edit_user"
	// DevicesAdmin runs the tenant's device settings, ID types and imports (producers).
	DevicesAdmin      Permission = "devices.admin"
	DownloadsManage   Permission = "downloads.manage"
	DownloadsDownload Permission = "downloads.download"

	// ProfileManage lets users change their own password and secret question; every
	// role has it, and it is all a session with a temporary password may do.
	ProfileManage Permission = "profile.manage"
	// TokensManage lets a user manage their own access tokens; every role has it.
	TokensManage Permission = "tokens.manage"
	// TokensImpersonate, with UsersManage, lets a user make and manage tokens that act
	// as other users (SPEC ACC-17).
	TokensImpersonate Permission = "tokens.impersonate"
	// AuditView reads the audit trail (producers).
	AuditView Permission = "audit.view"
	// EntitlementsClaim maps more entitlement or activation IDs to one's
	// self-registered account (SPEC ACC-12).
	EntitlementsClaim Permission = "entitlements.claim"
	// OrganizationsUse lets users make, join and run organizations (SPEC ACC-14);
	// who may do what inside one is the organization's own business.
	OrganizationsUse Permission = "organizations.use"
	// TrialsRegister lets users register themselves for trials (SPEC ACC-19).
	TrialsRegister Permission = "trials.register"
	// ServicePlansAssign gives customers units of service plans (SPEC ACC-15).
	ServicePlansAssign Permission = "service_plans.assign"
	// SubscriptionTokensManage makes and revokes accounts' subscription tokens (SPEC
	// ENT-11).
	SubscriptionTokensManage Permission = "subscription_tokens.manage"
	// EntitlementsTransfer moves line items between accounts (SPEC ENT-7, ACC-7).
	EntitlementsTransfer Permission = "entitlements.transfer"
	// EntitlementsSplit moves part of a line item to a related account (SPEC ENT-8,
	// ACC-7).
	EntitlementsSplit Permission = "entitlements.split"
	// TransfersApprove decides transfers on hold (producers).
	TransfersApprove Permission = "transfers.approve"
	// LineItemsManage moves line items through their states: deploying drafts,
	// obsoleting (producers, SPEC ENT-4).
	LineItemsManage Permission = "line_items.manage"
	// RolesManage defines the tenant's custom roles (producers).
	RolesManage Permission = "roles.manage"
	// AccountsSupport is the producer's support desk: replacing an account's
	// administrator (SPEC ACC-11).
	AccountsSupport Permission = "accounts.support"

	// Service-only permissions: held by service principals, never by a role.
	SeatsReserve   Permission = "seats.reserve"
	ProductsAccess Permission = "products.check_access"
	TokensResolve  Permission = "tokens.resolve"
	HoldingsCount  Permission = "holdings.count"
	// KeysResolve looks up and assigns entitlement and activation IDs for the account
	// service's self-service entry (SPEC ACC-10 to ACC-12, ACC-18).
	KeysResolve Permission = "entitlement_keys.resolve"
)

// Role is a named set of permissions.
type Role struct {
	ID          string
	TenantWide  bool // producer roles act for every account of the tenant
	Permissions []Permission
}

// Built-in roles. Tenants add roles of their own in the account service.
var (
	RoleProducerAdmin = Role{ID: "producer_admin", TenantWide: true, Permissions: []Permission{
		AccountsView, AccountsManage, UsersView, UsersManage, CatalogView, CatalogManage,
		EntitlementsView, OrdersIngest, LicensesGenerate, LicensesView, SigningKeysView, SigningKeysManage, LicensesAdmin,
		DevicesView, DevicesManage, DevicesViewChild, DevicesClaim, DevicesEditUser, DevicesAdmin,
		DownloadsManage, DownloadsDownload, TokensManage, TokensImpersonate, ProfileManage, AuditView,
		EntitlementsClaim, AccountsSupport, ServicePlansAssign, OrganizationsUse, TrialsRegister, RolesManage, SubscriptionTokensManage,
		EntitlementsTransfer, TransfersApprove, EntitlementsSplit, LineItemsManage,
	}}
	RoleCustomerAdmin = Role{ID: "customer_admin", Permissions: []Permission{
		AccountsView, UsersView, UsersManage, CatalogView, EntitlementsView, LicensesGenerate,
		LicensesView, DevicesView, DevicesManage, DevicesViewChild, DevicesClaim, DevicesEditUser, DownloadsDownload, TokensManage,
		ProfileManage, EntitlementsClaim, OrganizationsUse, TrialsRegister, SubscriptionTokensManage, EntitlementsTransfer, EntitlementsSplit,
	}}
	// RolePartnerAdmin runs a distribution tier: the accounts and users below the
	// partner's accounts (SPEC ACC-3).
	RolePartnerAdmin = Role{ID: "partner_admin", Permissions: []Permission{
		AccountsView, AccountsManage, UsersView, UsersManage, CatalogView, EntitlementsView, LicensesGenerate,
		LicensesView, DevicesView, DevicesManage, DevicesViewChild, DevicesClaim, DevicesEditUser, DownloadsDownload, TokensManage,
		ProfileManage, ServicePlansAssign, OrganizationsUse, EntitlementsClaim, TrialsRegister, SubscriptionTokensManage, EntitlementsTransfer, EntitlementsSplit,
	}}
	RoleCustomerUser = Role{ID: "customer_user", Permissions: []Permission{
		AccountsView, CatalogView, EntitlementsView, LicensesView, DevicesView, DownloadsDownload, TokensManage, ProfileManage,
		EntitlementsClaim, OrganizationsUse, TrialsRegister,
	}}
	// ServicePermissions are what a service principal holds.
	ServicePermissions = []Permission{SeatsReserve, ProductsAccess, TokensResolve, HoldingsCount, KeysResolve, ServicePlansAssign, EntitlementsClaim, EntitlementsView, CatalogView, AccountsView, UsersView, LicensesView}
)

// Grantable is every permission a role may hold: all that the built-in roles hold.
// Service-only permissions, tenant creation and Public are never granted to people.
var Grantable = func() map[Permission]bool {
	out := map[Permission]bool{}
	for _, r := range []Role{RoleProducerAdmin, RoleCustomerAdmin, RolePartnerAdmin, RoleCustomerUser} {
		for _, p := range r.Permissions {
			out[p] = true
		}
	}
	return out
}()

// Roles indexes the built-in roles by ID.
var Roles = map[string]Role{
	RoleProducerAdmin.ID: RoleProducerAdmin,
	RoleCustomerAdmin.ID: RoleCustomerAdmin,
	RoleCustomerUser.ID:  RoleCustomerUser,
	RolePartnerAdmin.ID:  RolePartnerAdmin,
}

// ProducerOnly reports whether perm acts on the producer's own data (catalog, order
// intake, software packages, keys, the audit trail) and so needs a tenant-wide
// principal, whatever roles a custom setup grants. Account management is not: partners
// manage the accounts of their tier (SPEC ACC-3), scoped by the use cases.
func ProducerOnly(perm Permission) bool {
	switch perm {
	case CatalogManage, OrdersIngest, DownloadsManage, DevicesAdmin, SigningKeysView, SigningKeysManage, LicensesAdmin, AuditView, AccountsSupport, RolesManage, TransfersApprove, LineItemsManage:
		return true
	}
	return false
}

// Tenantless reports whether perm is exercised outside any tenant: creating tenants
// (operators) and resolving bearer tokens (the gateway, before it knows the tenant).
func Tenantless(perm Permission) bool {
	return perm == TenantsCreate || perm == TokensResolve
}
