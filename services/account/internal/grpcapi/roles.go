package grpcapi

import (
	"context"

	"google.golang.org/protobuf/types/known/emptypb"

	accountpb "github.com/tessera-dev/tessera/gen/tessera/account/v1"
	"github.com/tessera-dev/tessera/services/account/internal/app"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/names"
)

func rolePB(r app.CustomRole) *accountpb.Role {
	_, builtIn := authz.Roles[r.ID]
	out := &accountpb.Role{
		Name: "roles/" + r.ID, RoleId: r.ID, TenantWide: r.TenantWide, DisplayName: r.DisplayName, Description: r.Description, BuiltIn: builtIn,
	}
	for _, p := range r.Permissions {
		out.Permissions = append(out.Permissions, string(p))
	}
	return out
}

func permissionsOf(ps []string) []authz.Permission {
	out := make([]authz.Permission, len(ps))
	for i, p := range ps {
		out[i] = authz.Permission(p)
	}
	return out
}

// CreateRole implements AccountService.
func (s *Server) CreateRole(ctx context.Context, req *accountpb.CreateRoleRequest) (*accountpb.Role, error) {
	r := req.GetRole()
	out, err := s.app.CreateRole(ctx, app.CustomRole{
		ID: req.GetRoleId(), DisplayName: r.GetDisplayName(), Description: r.GetDescription(), TenantWide: r.GetTenantWide(),
		Permissions: permissionsOf(r.GetPermissions()),
	})
	if err != nil {
		return nil, err
	}
	return rolePB(out), nil
}

// UpdateRole implements AccountService.
func (s *Server) UpdateRole(ctx context.Context, req *accountpb.UpdateRoleRequest) (*accountpb.Role, error) {
	r := req.GetRole()
	id, err := names.ID("role.name", r.GetName(), "roles")
	if err != nil {
		return nil, err
	}
	var p app.RolePatch
	for _, path := range req.GetUpdateMask().GetPaths() {
		switch path {
		case "display_name":
			p.DisplayName = &r.DisplayName
		case "description":
			p.Description = &r.Description
		case "permissions":
			perms := permissionsOf(r.GetPermissions())
			p.Permissions = &perms
		default:
			return nil, errs.Invalid("update_mask", "%q cannot be changed", path)
		}
	}
	if len(req.GetUpdateMask().GetPaths()) == 0 {
		return nil, errs.Invalid("update_mask", "names nothing to change")
	}
	out, err := s.app.UpdateRole(ctx, id, p)
	if err != nil {
		return nil, err
	}
	return rolePB(out), nil
}

// DeleteRole implements AccountService.
func (s *Server) DeleteRole(ctx context.Context, req *accountpb.DeleteRoleRequest) (*emptypb.Empty, error) {
	id, err := names.ID("name", req.GetName(), "roles")
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, s.app.DeleteRole(ctx, id)
}
