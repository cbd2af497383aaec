package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/names"
)

func newcomerOf(n *accountpb.Newcomer) app.Newcomer {
	return app.Newcomer{
		Username: n.GetUsername(), FirstName: n.GetFirstName(), LastName: n.GetLastName(), Email: n.GetEmail(),
		Phone: n.GetPhone(), TimeZone: n.GetTimeZone(), Locale: n.GetLocale(), MarketingOptIn: n.GetMarketingOptIn(),
	}
}

// SignInWithKey implements AuthService.
func (s *Server) SignInWithKey(ctx context.Context, req *accountpb.SignInWithKeyRequest) (*accountpb.SignInWithKeyResponse, error) {
	ks, token, err := s.app.SignInWithKey(ctx, req.GetTenantId(), req.GetKey())
	if err != nil {
		return nil, err
	}
	return &accountpb.SignInWithKeyResponse{
		AccessToken: token, ExpireTime: timestamppb.New(ks.ExpiresAt),
		Entitlement: "entitlements/" + ks.EntitlementID, ActivationId: ks.ActivationID,
	}, nil
}

// RegisterSelf implements RegistrationService.
func (s *Server) RegisterSelf(ctx context.Context, req *accountpb.RegisterSelfRequest) (*accountpb.RegisterSelfResponse, error) {
	r, err := s.app.RegisterSelf(ctx, req.GetTenantId(), req.GetKey(), req.GetCompany(), addressOf(req.GetAddress()), newcomerOf(req.GetPerson()))
	if err != nil {
		return nil, err
	}
	return &accountpb.RegisterSelfResponse{User: userPB(r.User), Account: "accounts/" + r.AccountID, JoinedExisting: r.JoinedExisting}, nil
}

// JoinAccount implements RegistrationService.
func (s *Server) JoinAccount(ctx context.Context, req *accountpb.JoinAccountRequest) (*accountpb.JoinAccountResponse, error) {
	account, err := names.ID("account", req.GetAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	u, err := s.app.JoinAccount(ctx, req.GetTenantId(), account, req.GetOrderId(), newcomerOf(req.GetPerson()))
	if err != nil {
		return nil, err
	}
	return &accountpb.JoinAccountResponse{User: userPB(u)}, nil
}

// ClaimEntitlementKey implements RegistrationService.
func (s *Server) ClaimEntitlementKey(ctx context.Context, req *accountpb.ClaimEntitlementKeyRequest) (*accountpb.ClaimEntitlementKeyResponse, error) {
	account, err := names.ID("account", req.GetAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	k, err := s.app.ClaimKey(ctx, account, req.GetKey())
	if err != nil {
		return nil, err
	}
	return &accountpb.ClaimEntitlementKeyResponse{Entitlement: "entitlements/" + k.EntitlementID, ActivationId: k.ActivationID}, nil
}

// ReplaceAccountAdministrator implements RegistrationService.
func (s *Server) ReplaceAccountAdministrator(ctx context.Context, req *accountpb.ReplaceAccountAdministratorRequest) (*accountpb.ReplaceAccountAdministratorResponse, error) {
	account, err := names.ID("account", req.GetAccount(), "accounts")
	if err != nil {
		return nil, err
	}
	user, err := names.ID("user", req.GetUser(), "users")
	if err != nil {
		return nil, err
	}
	replaced, u, err := s.app.ReplaceAdministrator(ctx, account, user, req.GetReason())
	if err != nil {
		return nil, err
	}
	out := &accountpb.ReplaceAccountAdministratorResponse{Administrator: userPB(u)}
	for _, id := range replaced {
		out.Replaced = append(out.Replaced, "users/"+id)
	}
	return out, nil
}
