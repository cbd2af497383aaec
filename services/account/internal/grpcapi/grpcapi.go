// Package grpcapi is the account service's thin gRPC layer.
package grpcapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	commonpb "github.com/tessera-dev/tessera/gen/tessera/common/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/grpcx"
	"github.com/tessera-dev/tessera/services/platform/names"
	"google.golang.org/protobuf/proto"
)

// Permissions declares what every RPC needs.
var Permissions = grpcx.Permissions{
	accountpb.AccountService_CreateTenant_FullMethodName:          authz.TenantsCreate,
	accountpb.AccountService_CreateAccount_FullMethodName:         authz.AccountsManage,
	accountpb.AccountService_CreatePartnerCustomer_FullMethodName: authz.AccountsManage,
	accountpb.AccountService_GetAccount_FullMethodName:            authz.AccountsView,
	accountpb.AccountService_UpdateAccount_FullMethodName:         authz.AccountsManage,
	accountpb.AccountService_ListAccounts_FullMethodName:          authz.AccountsView,
	accountpb.AccountService_BatchGetAccounts_FullMethodName:      authz.AccountsView,
	accountpb.AccountService_LinkSubAccount_FullMethodName:        authz.AccountsManage,
	accountpb.AccountService_UnlinkSubAccount_FullMethodName:      authz.AccountsManage,
	accountpb.AccountService_GetAccountTree_FullMethodName:        authz.AccountsView,
	accountpb.AccountService_DeleteAccount_FullMethodName:         authz.AccountsManage,
	accountpb.AccountService_CreateUser_FullMethodName:            authz.UsersManage,
	accountpb.AccountService_GetUser_FullMethodName:               authz.UsersView,
	accountpb.AccountService_ListUsers_FullMethodName:             authz.UsersView,
	accountpb.AccountService_UpdateUser_FullMethodName:            authz.UsersManage,
	accountpb.AccountService_ListAdministrators_FullMethodName:    authz.UsersView,
	accountpb.AccountService_ListRoles_FullMethodName:             authz.UsersView,
	accountpb.AccountService_CreateRole_FullMethodName:            authz.RolesManage,
	accountpb.AccountService_UpdateRole_FullMethodName:            authz.RolesManage,
	accountpb.AccountService_DeleteRole_FullMethodName:            authz.RolesManage,
	accountpb.AccountService_ReactivateUser_FullMethodName:        authz.UsersManage,
	accountpb.AccountService_ResetUserPassword_FullMethodName:     authz.UsersManage,
	accountpb.AuthService_ChangePassword_FullMethodName:           authz.ProfileManage,
	accountpb.AuthService_SetSecretQuestion_FullMethodName:        authz.ProfileManage,
	accountpb.AuthService_ResetPassword_FullMethodName:            authz.Public,
	accountpb.AuthService_Login_FullMethodName:                    authz.Public,
	accountpb.AuditService_ListAuditEvents_FullMethodName:         authz.AuditView,
	accountpb.AuthService_Authenticate_FullMethodName:             authz.TokensResolve,
	accountpb.AuthService_SignInWithKey_FullMethodName:            authz.Public,

	accountpb.OrganizationService_CreateOrganization_FullMethodName: authz.OrganizationsUse,
	accountpb.OrganizationService_GetOrganization_FullMethodName:    authz.OrganizationsUse,
	accountpb.OrganizationService_ListOrganizations_FullMethodName:  authz.OrganizationsUse,
	accountpb.OrganizationService_InviteMembers_FullMethodName:      authz.OrganizationsUse,
	accountpb.OrganizationService_AcceptInvitation_FullMethodName:   authz.OrganizationsUse,
	accountpb.OrganizationService_SetMemberEnabled_FullMethodName:   authz.OrganizationsUse,
	accountpb.OrganizationService_RemoveMember_FullMethodName:       authz.OrganizationsUse,
	accountpb.OrganizationService_SetCoAdministrator_FullMethodName: authz.OrganizationsUse,
	accountpb.OrganizationService_GrantSeats_FullMethodName:         authz.OrganizationsUse,

	accountpb.RegistrationService_RegisterSelf_FullMethodName:                authz.Public,
	accountpb.RegistrationService_JoinAccount_FullMethodName:                 authz.Public,
	accountpb.RegistrationService_ClaimEntitlementKey_FullMethodName:         authz.EntitlementsClaim,
	accountpb.RegistrationService_ReplaceAccountAdministrator_FullMethodName: authz.AccountsSupport,

	accountpb.AccessTokenService_CreateAccessToken_FullMethodName: authz.TokensManage,
	accountpb.AccessTokenService_GetAccessToken_FullMethodName:    authz.TokensManage,
	accountpb.AccessTokenService_ListAccessTokens_FullMethodName:  authz.TokensManage,
	accountpb.AccessTokenService_UpdateAccessToken_FullMethodName: authz.TokensManage,
	accountpb.AccessTokenService_RotateAccessToken_FullMethodName: authz.TokensManage,
	accountpb.AccessTokenService_DeleteAccessToken_FullMethodName: authz.TokensManage,
}

// Server implements the account and auth gRPC services.
type Server struct {
	accountpb.UnimplementedAccountServiceServer
	accountpb.UnimplementedAuthServiceServer
	accountpb.UnimplementedAccessTokenServiceServer
	accountpb.UnimplementedAuditServiceServer
	accountpb.UnimplementedRegistrationServiceServer
	accountpb.UnimplementedOrganizationServiceServer
	app *app.App
	now func() time.Time
}

// New returns the gRPC handlers over the use cases.
func New(a *app.App) *Server { return &Server{app: a, now: time.Now} }

func tsPtr(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

var accountTypes = map[accountpb.AccountType]string{
	accountpb.AccountType_ACCOUNT_TYPE_PRODUCER:        app.AccountProducer,
	accountpb.AccountType_ACCOUNT_TYPE_CUSTOMER:        app.AccountCustomer,
	accountpb.AccountType_ACCOUNT_TYPE_PARTNER:         app.AccountPartner,
	accountpb.AccountType_ACCOUNT_TYPE_SELF_REGISTERED: app.AccountSelfRegistered,
}

var userTypes = map[string]accountpb.UserType{
	app.AccountProducer:       accountpb.UserType_USER_TYPE_PRODUCER,
	app.AccountCustomer:       accountpb.UserType_USER_TYPE_CUSTOMER,
	app.AccountPartner:        accountpb.UserType_USER_TYPE_PARTNER,
	app.AccountSelfRegistered: accountpb.UserType_USER_TYPE_SELF_REGISTERED,
}

func accountTypeBack(t string) accountpb.AccountType {
	for k, v := range accountTypes {
		if v == t {
			return k
		}
	}
	return accountpb.AccountType_ACCOUNT_TYPE_UNSPECIFIED
}

func tenantPB(t app.Tenant) *accountpb.Tenant {
	return &accountpb.Tenant{Name: "tenants/" + t.ID, TenantId: t.ID, DisplayName: t.DisplayName, CreateTime: timestamppb.New(t.CreateTime)}
}

func accountPB(a app.Account) *accountpb.Account {
	return &accountpb.Account{
		Name: "accounts/" + a.ID, AccountId: a.ID, DisplayName: a.DisplayName, Description: a.Description,
		Type: accountTypeBack(a.Type), VisibleToPartners: a.VisibleToPartners, Attributes: a.Attributes,
		Address:    addressPB(a.Address),
		CreateTime: timestamppb.New(a.CreateTime), UpdateTime: timestamppb.New(a.UpdateTime),
		Company: a.Company, EmergencyContactEmail: a.EmergencyContactEmail,
	}
}

func userPB(u app.User) *accountpb.User {
	out := &accountpb.User{
		Name: "users/" + u.ID, UserId: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
		Email: u.Email, Type: userTypes[u.Type], CreateTime: timestamppb.New(u.CreateTime), LastLoginTime: tsPtr(u.LastLoginTime),
		Status: accountpb.UserStatus_USER_STATUS_ACTIVE, SharedLogin: u.SharedLogin, LockedTime: tsPtr(u.LockedTime),
		PasswordChangeRequired: u.MustChangePassword, SecretQuestion: u.SecretQuestion,
		Phone: u.Phone, Fax: u.Fax, Address: addressPB(u.Address), TimeZone: u.TimeZone, Locale: u.Locale,
		MarketingOptIn: u.MarketingOptIn, ExpiringEntitlementsEmail: u.ExpiringEmail, ContactOnly: !u.CanLogin,
	}
	if u.Status == app.UserInactive {
		out.Status = accountpb.UserStatus_USER_STATUS_INACTIVE
	}
	for _, m := range u.Memberships {
		out.Memberships = append(out.Memberships, &accountpb.Membership{Account: "accounts/" + m.AccountID, Roles: m.Roles})
	}
	for _, id := range u.ProductLines {
		out.ProductLines = append(out.ProductLines, "productLines/"+id)
	}
	return out
}

// CreateTenant implements AccountService.
func (s *Server) CreateTenant(ctx context.Context, req *accountpb.CreateTenantRequest) (*accountpb.CreateTenantResponse, error) {
	out, err := s.app.CreateTenant(ctx, app.NewTenant{
		ID: req.GetTenantId(), DisplayName: req.GetDisplayName(), AdminUsername: req.GetAdminUsername(),
		AdminEmail: req.GetAdminEmail(), AdminPassword: req.GetAdminPassword(),
	})
	if err != nil {
		return nil, err
	}
	return &accountpb.CreateTenantResponse{
		Tenant: tenantPB(out.Tenant), HomeAccount: accountPB(out.Home), Admin: userPB(out.Admin), AdminPassword: out.AdminPassword,
	}, nil
}

// CreateAccount implements AccountService.
func (s *Server) CreateAccount(ctx context.Context, req *accountpb.CreateAccountRequest) (*accountpb.Account, error) {
	a := req.GetAccount()
	addr := a.GetAddress()
	parent, err := names.OptionalID("parent", req.GetParent(), "accounts")
	if err != nil {
		return nil, err
	}
	out, err := s.app.CreateAccount(ctx, app.Account{
		ID: req.GetAccountId(), DisplayName: a.GetDisplayName(), Description: a.GetDescription(), Type: accountTypes[a.GetType()],
		VisibleToPartners: !req.GetHideFromPartners(), Attributes: a.GetAttributes(), RequestID: req.GetRequestId(),
		Address: addressOf(addr), Company: a.GetCompany(), EmergencyContactEmail: a.GetEmergencyContactEmail(),
	}, parent)
	if err != nil {
		return nil, err
	}
	return accountPB(out), nil
}

// GetAccount implements AccountService.
func (s *Server) GetAccount(ctx context.Context, req *accountpb.GetAccountRequest) (*accountpb.Account, error) {
	id, err := names.ID("name", req.GetName(), "accounts")
	if err != nil {
		return nil, err
	}
	out, err := s.app.GetAccount(ctx, id)
	if err != nil {
		return nil, err
	}
	return accountPB(out), nil
}

// BatchGetAccounts implements AccountService.
func (s *Server) BatchGetAccounts(ctx context.Context, req *accountpb.BatchGetAccountsRequest) (*accountpb.BatchGetAccountsResponse, error) {
	ids := make([]string, 0, len(req.GetNames()))
	for i, n := range req.GetNames() {
		id, err := names.ID(fieldf("names[%d]", i), n, "accounts")
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	list, err := s.app.BatchGetAccounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := &accountpb.BatchGetAccountsResponse{}
	for _, a := range list {
		out.Accounts = append(out.Accounts, accountPB(a))
	}
	return out, nil
}

// ListAccounts implements AccountService.
func (s *Server) ListAccounts(ctx context.Context, req *accountpb.ListAccountsRequest) (*accountpb.ListAccountsResponse, error) {
	list, next, err := s.app.ListAccounts(ctx, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	out := &accountpb.ListAccountsResponse{NextPageToken: next}
	for _, a := range list {
		out.Accounts = append(out.Accounts, accountPB(a))
	}
	return out, nil
}

// CreateUser implements AccountService.
func (s *Server) CreateUser(ctx context.Context, req *accountpb.CreateUserRequest) (*accountpb.User, error) {
	u := req.GetUser()
	in := app.User{
		Username: u.GetUsername(), FirstName: u.GetFirstName(), LastName: u.GetLastName(), Email: u.GetEmail(), RequestID: req.GetRequestId(),
		SharedLogin: u.GetSharedLogin(), Phone: u.GetPhone(), Fax: u.GetFax(), Address: addressOf(u.GetAddress()),
		TimeZone: u.GetTimeZone(), Locale: u.GetLocale(), MarketingOptIn: u.GetMarketingOptIn(),
		ExpiringEmail: u.GetExpiringEntitlementsEmail(), CanLogin: !u.GetContactOnly(),
	}
	lines, err := productLineIDs(u.GetProductLines())
	if err != nil {
		return nil, err
	}
	in.ProductLines = lines
	for i, m := range u.GetMemberships() {
		id, err := names.ID(fieldf("user.memberships[%d].account", i), m.GetAccount(), "accounts")
		if err != nil {
			return nil, err
		}
		in.Memberships = append(in.Memberships, app.Membership{AccountID: id, Roles: m.GetRoles()})
	}
	out, err := s.app.CreateUser(ctx, in, req.GetPassword())
	if err != nil {
		return nil, err
	}
	return userPB(out), nil
}

// GetUser implements AccountService.
func (s *Server) GetUser(ctx context.Context, req *accountpb.GetUserRequest) (*accountpb.User, error) {
	id, err := names.ID("name", req.GetName(), "users")
	if err != nil {
		return nil, err
	}
	out, err := s.app.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	return userPB(out), nil
}

// Login implements AuthService.
func (s *Server) Login(ctx context.Context, req *accountpb.LoginRequest) (*accountpb.LoginResponse, error) {
	out, err := s.app.Login(ctx, req.GetTenantId(), req.GetUsername(), req.GetPassword())
	if err != nil {
		return nil, err
	}
	return &accountpb.LoginResponse{
		AccessToken: out.Token, ExpireTime: timestamppb.New(out.Saved.ExpiresAt), User: userPB(out.User),
		PasswordChangeRequired: out.MustChangePassword,
	}, nil
}

// Authenticate implements AuthService.
func (s *Server) Authenticate(ctx context.Context, req *accountpb.AuthenticateRequest) (*accountpb.AuthenticateResponse, error) {
	p, exp, err := s.app.Authenticate(ctx, req.GetAccessToken())
	if err != nil {
		return nil, err
	}
	return &accountpb.AuthenticateResponse{Principal: p, TokenExpireTime: timestamppb.New(exp)}, nil
}

// ReactivateUser implements AccountService.
func (s *Server) ReactivateUser(ctx context.Context, req *accountpb.ReactivateUserRequest) (*accountpb.User, error) {
	id, err := names.ID("name", req.GetName(), "users")
	if err != nil {
		return nil, err
	}
	out, err := s.app.ReactivateUser(ctx, id)
	if err != nil {
		return nil, err
	}
	return userPB(out), nil
}

// ResetUserPassword implements AccountService.
func (s *Server) ResetUserPassword(ctx context.Context, req *accountpb.ResetUserPasswordRequest) (*accountpb.User, error) {
	id, err := names.ID("name", req.GetName(), "users")
	if err != nil {
		return nil, err
	}
	out, err := s.app.ResetUserPassword(ctx, id)
	if err != nil {
		return nil, err
	}
	return userPB(out), nil
}

// ChangePassword implements AuthService.
func (s *Server) ChangePassword(ctx context.Context, req *accountpb.ChangePasswordRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, s.app.ChangePassword(ctx, req.GetOldPassword(), req.GetNewPassword(), req.GetConfirmPassword())
}

// SetSecretQuestion implements AuthService.
func (s *Server) SetSecretQuestion(ctx context.Context, req *accountpb.SetSecretQuestionRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, s.app.SetSecretQuestion(ctx, req.GetQuestion(), req.GetAnswer(), req.GetPassword())
}

// ResetPassword implements AuthService.
func (s *Server) ResetPassword(ctx context.Context, req *accountpb.ResetPasswordRequest) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, s.app.ResetPassword(ctx, req.GetTenantId(), req.GetUsername(), req.GetSecretAnswer())
}

func linkIDs(parent, child string) (string, string, error) {
	p, err := names.ID("parent", parent, "accounts")
	if err != nil {
		return "", "", err
	}
	c, err := names.ID("child", child, "accounts")
	return p, c, err
}

// LinkSubAccount implements AccountService.
func (s *Server) LinkSubAccount(ctx context.Context, req *accountpb.LinkSubAccountRequest) (*accountpb.AccountLink, error) {
	parent, child, err := linkIDs(req.GetParent(), req.GetChild())
	if err != nil {
		return nil, err
	}
	if err := s.app.LinkSubAccount(ctx, parent, child); err != nil {
		return nil, err
	}
	return &accountpb.AccountLink{Parent: req.GetParent(), Child: req.GetChild()}, nil
}

// UnlinkSubAccount implements AccountService.
func (s *Server) UnlinkSubAccount(ctx context.Context, req *accountpb.UnlinkSubAccountRequest) (*emptypb.Empty, error) {
	parent, child, err := linkIDs(req.GetParent(), req.GetChild())
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, s.app.UnlinkSubAccount(ctx, parent, child)
}

func treePB(n *app.TreeNode) *accountpb.AccountTreeNode {
	out := &accountpb.AccountTreeNode{Account: accountPB(n.Account)}
	for _, c := range n.Children {
		out.Children = append(out.Children, treePB(c))
	}
	return out
}

// GetAccountTree implements AccountService.
func (s *Server) GetAccountTree(ctx context.Context, req *accountpb.GetAccountTreeRequest) (*accountpb.AccountTreeNode, error) {
	id, err := names.ID("name", req.GetName(), "accounts")
	if err != nil {
		return nil, err
	}
	tree, err := s.app.AccountTree(ctx, id, int(req.GetMaxDepth()))
	if err != nil {
		return nil, err
	}
	return treePB(tree), nil
}

// DeleteAccount implements AccountService.
func (s *Server) DeleteAccount(ctx context.Context, req *accountpb.DeleteAccountRequest) (*accountpb.DeleteAccountResponse, error) {
	id, err := names.ID("name", req.GetName(), "accounts")
	if err != nil {
		return nil, err
	}
	deleted, err := s.app.DeleteAccount(ctx, id, req.GetSubtree(), req.GetForce())
	if err != nil {
		return nil, err
	}
	out := &accountpb.DeleteAccountResponse{}
	for _, d := range deleted {
		out.Deleted = append(out.Deleted, "accounts/"+d)
	}
	return out, nil
}

// ListUsers implements AccountService.
func (s *Server) ListUsers(ctx context.Context, req *accountpb.ListUsersRequest) (*accountpb.ListUsersResponse, error) {
	list, next, err := s.app.ListUsers(ctx, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	out := &accountpb.ListUsersResponse{NextPageToken: next}
	for _, u := range list {
		out.Users = append(out.Users, userPB(u))
	}
	return out, nil
}

// ListAuditEvents implements AuditService.
func (s *Server) ListAuditEvents(ctx context.Context, req *accountpb.ListAuditEventsRequest) (*accountpb.ListAuditEventsResponse, error) {
	list, next, err := s.app.ListAuditEvents(ctx, filter.Query{
		Filter: req.GetFilter(), OrderBy: req.GetOrderBy(), PageToken: req.GetPageToken(), PageSize: int(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	// The account service's audit messages predate the shared ones in common.v1 and
	// are wire-identical to them: one conversion serves both.
	body, err := proto.Marshal(events.AuditPage(list, next))
	if err != nil {
		return nil, err
	}
	out := &accountpb.ListAuditEventsResponse{}
	return out, proto.Unmarshal(body, out)
}

func addressPB(a app.Address) *commonpb.Address {
	return &commonpb.Address{Street: a.Street, City: a.City, State: a.State, Zip: a.Zip, Country: a.Country, Region: a.Region}
}

func addressOf(a *commonpb.Address) app.Address {
	return app.Address{
		Street: a.GetStreet(), City: a.GetCity(), State: a.GetState(),
		Zip: a.GetZip(), Country: a.GetCountry(), Region: a.GetRegion(),
	}
}

// UpdateUser implements AccountService.
func (s *Server) UpdateUser(ctx context.Context, req *accountpb.UpdateUserRequest) (*accountpb.User, error) {
	u := req.GetUser()
	id, err := names.ID("user.name", u.GetName(), "users")
	if err != nil {
		return nil, err
	}
	var p app.UserPatch
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch path {
		case "first_name":
			p.FirstName = &u.FirstName
		case "last_name":
			p.LastName = &u.LastName
		case "email":
			p.Email = &u.Email
		case "phone":
			p.Phone = &u.Phone
		case "fax":
			p.Fax = &u.Fax
		case "time_zone":
			p.TimeZone = &u.TimeZone
		case "locale":
			p.Locale = &u.Locale
		case "address":
			addr := addressOf(u.GetAddress())
			p.Address = &addr
		case "marketing_opt_in":
			p.MarketingOptIn = &u.MarketingOptIn
		case "expiring_entitlements_email":
			p.ExpiringEmail = &u.ExpiringEntitlementsEmail
		case "contact_only":
			canLogin := !u.GetContactOnly()
			p.CanLogin = &canLogin
		case "shared_login":
			p.SharedLogin = &u.SharedLogin
		case "product_lines":
			lines, err := productLineIDs(u.GetProductLines())
			if err != nil {
				return nil, err
			}
			p.ProductLines = &lines
		case "memberships":
			ms := []app.Membership{}
			for i, m := range u.GetMemberships() {
				acc, err := names.ID(fieldf("user.memberships[%d].account", i), m.GetAccount(), "accounts")
				if err != nil {
					return nil, err
				}
				ms = append(ms, app.Membership{AccountID: acc, Roles: m.GetRoles()})
			}
			p.Memberships = &ms
		default:
			return nil, errs.Invalid("update_mask", "%q cannot be changed", path)
		}
	}
	if len(req.GetUpdateMask().GetPaths()) == 0 {
		return nil, errs.Invalid("update_mask", "names nothing to change")
	}
	out, err := s.app.UpdateUser(ctx, id, p)
	if err != nil {
		return nil, err
	}
	return userPB(out), nil
}

// ListAdministrators implements AccountService.
func (s *Server) ListAdministrators(ctx context.Context, req *accountpb.ListAdministratorsRequest) (*accountpb.ListAdministratorsResponse, error) {
	list, next, err := s.app.ListAdministrators(ctx, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &accountpb.ListAdministratorsResponse{NextPageToken: next}
	for _, a := range list {
		out.Administrators = append(out.Administrators, &accountpb.Administrator{
			User: "users/" + a.UserID, FirstName: a.FirstName, LastName: a.LastName, Email: a.Email,
			Account: "accounts/" + a.AccountID, AccountDisplayName: a.AccountName,
		})
	}
	return out, nil
}

// UpdateAccount implements AccountService.
func (s *Server) UpdateAccount(ctx context.Context, req *accountpb.UpdateAccountRequest) (*accountpb.Account, error) {
	a := req.GetAccount()
	id, err := names.ID("account.name", a.GetName(), "accounts")
	if err != nil {
		return nil, err
	}
	var p app.AccountPatch
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch path {
		case "display_name":
			p.DisplayName = &a.DisplayName
		case "description":
			p.Description = &a.Description
		case "address":
			addr := addressOf(a.GetAddress())
			p.Address = &addr
		case "visible_to_partners":
			p.VisibleToPartners = &a.VisibleToPartners
		case "attributes":
			attrs := a.GetAttributes()
			p.Attributes = &attrs
		case "company":
			p.Company = &a.Company
		case "emergency_contact_email":
			p.EmergencyContactEmail = &a.EmergencyContactEmail
		default:
			return nil, errs.Invalid("update_mask", "%q cannot be changed", path)
		}
	}
	if len(req.GetUpdateMask().GetPaths()) == 0 {
		return nil, errs.Invalid("update_mask", "names nothing to change")
	}
	out, err := s.app.UpdateAccount(ctx, id, p)
	if err != nil {
		return nil, err
	}
	return accountPB(out), nil
}

// ListRoles implements AccountService: the built-in roles, then the tenant's own.
func (s *Server) ListRoles(ctx context.Context, req *accountpb.ListRolesRequest) (*accountpb.ListRolesResponse, error) {
	roles, next, err := s.app.ListRoles(ctx, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &accountpb.ListRolesResponse{NextPageToken: next}
	for _, r := range roles {
		out.Roles = append(out.Roles, rolePB(r))
	}
	return out, nil
}

// productLineIDs parses productLines/{id} names.
func productLineIDs(list []string) ([]string, error) {
	out := []string{}
	for i, n := range list {
		id, err := names.ID(fieldf("user.product_lines[%d]", i), n, "productLines")
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}
