package grpcapi

import (
	"context"
	"slices"

	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/names"
)

var tokenTypes = map[string]accountpb.AccessTokenType{
	app.TokenNormal:       accountpb.AccessTokenType_ACCESS_TOKEN_TYPE_NORMAL,
	app.TokenImpersonated: accountpb.AccessTokenType_ACCESS_TOKEN_TYPE_IMPERSONATED,
}

func (s *Server) tokenPB(t app.Token) *accountpb.AccessToken {
	return &accountpb.AccessToken{
		Name: "accessTokens/" + t.ID, TokenId: t.ID, DisplayName: t.Name, Description: t.Description,
		Type: tokenTypes[t.Kind], CreatedBy: "users/" + t.CreatedBy, CreatedFor: "users/" + t.UserID,
		ExpireTime: timestamppb.New(t.ExpiresAt), Expired: !s.now().Before(t.ExpiresAt),
		CreateTime: timestamppb.New(t.CreateTime), UpdateTime: timestamppb.New(t.UpdateTime),
	}
}

// CreateAccessToken implements AccessTokenService.
func (s *Server) CreateAccessToken(ctx context.Context, req *accountpb.CreateAccessTokenRequest) (*accountpb.CreateAccessTokenResponse, error) {
	t := req.GetAccessToken()
	createdFor, err := names.OptionalID("access_token.created_for", t.GetCreatedFor(), "users")
	if err != nil {
		return nil, err
	}
	out, value, err := s.app.CreateAccessToken(ctx, app.NewToken{
		Name: t.GetDisplayName(), Description: t.GetDescription(), CreatedFor: createdFor,
		ExpiresIn: req.GetExpiresIn(), RequestID: req.GetRequestId(),
	})
	if err != nil {
		return nil, err
	}
	return &accountpb.CreateAccessTokenResponse{AccessToken: s.tokenPB(out), TokenValue: value}, nil
}

// GetAccessToken implements AccessTokenService.
func (s *Server) GetAccessToken(ctx context.Context, req *accountpb.GetAccessTokenRequest) (*accountpb.AccessToken, error) {
	id, err := names.ID("name", req.GetName(), "accessTokens")
	if err != nil {
		return nil, err
	}
	t, err := s.app.GetAccessToken(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.tokenPB(t), nil
}

// ListAccessTokens implements AccessTokenService.
func (s *Server) ListAccessTokens(ctx context.Context, req *accountpb.ListAccessTokensRequest) (*accountpb.ListAccessTokensResponse, error) {
	kind, err := app.ParseTokenFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	list, next, err := s.app.ListAccessTokens(ctx, kind, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &accountpb.ListAccessTokensResponse{NextPageToken: next}
	for _, t := range list {
		out.AccessTokens = append(out.AccessTokens, s.tokenPB(t))
	}
	return out, nil
}

var updatablePaths = []string{"display_name", "description", "expires_in"}

// UpdateAccessToken implements AccessTokenService.
func (s *Server) UpdateAccessToken(ctx context.Context, req *accountpb.UpdateAccessTokenRequest) (*accountpb.AccessToken, error) {
	t := req.GetAccessToken()
	id, err := names.ID("access_token.name", t.GetName(), "accessTokens")
	if err != nil {
		return nil, err
	}
	var u app.TokenUpdate
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch path {
		case "display_name":
			u.Name = &t.DisplayName
		case "description":
			u.Description = &t.Description
		case "expires_in":
			u.ExpiresIn = &req.ExpiresIn
		default:
			if !slices.Contains(updatablePaths, path) {
				return nil, errs.Invalid("update_mask", "%q cannot be changed (only display_name, description, expires_in)", path)
			}
		}
	}
	out, err := s.app.UpdateAccessToken(ctx, id, u)
	if err != nil {
		return nil, err
	}
	return s.tokenPB(out), nil
}

// RotateAccessToken implements AccessTokenService.
func (s *Server) RotateAccessToken(ctx context.Context, req *accountpb.RotateAccessTokenRequest) (*accountpb.CreateAccessTokenResponse, error) {
	id, err := names.ID("name", req.GetName(), "accessTokens")
	if err != nil {
		return nil, err
	}
	t, value, err := s.app.RotateAccessToken(ctx, id)
	if err != nil {
		return nil, err
	}
	return &accountpb.CreateAccessTokenResponse{AccessToken: s.tokenPB(t), TokenValue: value}, nil
}

// DeleteAccessToken implements AccessTokenService.
func (s *Server) DeleteAccessToken(ctx context.Context, req *accountpb.DeleteAccessTokenRequest) (*emptypb.Empty, error) {
	id, err := names.ID("name", req.GetName(), "accessTokens")
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, s.app.DeleteAccessToken(ctx, id)
}
