package app

import (
	"context"
	"errors"
	"time"

	"github.com/tessera-dev/tessera/services/license/licfile"
	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Settings are a tenant's license settings.
type Settings struct {
	RelaxIPValidation bool
	UpdateTime        time.Time
}

// HostCheck asks for a host ID's validation; Role and ActivationID are optional.
type HostCheck struct {
	HostID       string
	Role         *licfile.Role
	ActivationID string
}

// hostIDInvalid turns a broken host ID rule into the API's error: reason
// HOST_ID_INVALID on the field, with the rule's name in the metadata (SPEC LIC-13).
func hostIDInvalid(field string, err error) error {
	var he *licfile.HostIDError
	if !errors.As(err, &he) {
		return err
	}
	e, _ := errs.As(errs.InvalidReason("HOST_ID_INVALID", field, "%s", he.Message))
	e.Message = he.Error()
	e.Metadata = map[string]string{"rule": he.Rule, "host_id": he.Input}
	return e
}

// parseHost parses a host ID under the tenant's rules and, when known, checks its role
// and the license model's allowed kinds.
func (a *App) parseHost(ctx context.Context, field, hostID string, role *licfile.Role, allowed []string) (licfile.HostID, error) {
	settings, err := a.store.Settings(ctx, authz.MustTenant(ctx))
	if err != nil {
		return licfile.HostID{}, err
	}
	h, err := licfile.ParseHostID(hostID, licfile.Rules{RelaxIP: settings.RelaxIPValidation})
	if err == nil && role != nil {
		err = h.CheckRole(*role)
	}
	if err == nil {
		err = h.CheckAllowed(allowed)
	}
	if err != nil {
		return licfile.HostID{}, hostIDInvalid(field, err)
	}
	return h, nil
}

// ValidateHostID checks a host ID without storing anything (SPEC LIC-3).
func (a *App) ValidateHostID(ctx context.Context, in HostCheck) (licfile.HostID, error) {
	if in.HostID == "" {
		return licfile.HostID{}, errs.Invalid("host_id", "is required")
	}
	var allowed []string
	if in.ActivationID != "" {
		li, err := a.ent.LineItem(ctx, in.ActivationID)
		if err != nil {
			return licfile.HostID{}, err
		}
		p, _ := authz.FromContext(ctx)
		if !authz.CanSeeLineItem(p, li.ref()) {
			return licfile.HostID{}, errs.NotFound("line item", in.ActivationID)
		}
		allowed = li.AllowedHostKinds
		if in.Role == nil {
			role := li.hostRole()
			in.Role = &role
		}
	}
	return a.parseHost(ctx, "host_id", in.HostID, in.Role, allowed)
}

// GetSettings reads the tenant's license settings.
func (a *App) GetSettings(ctx context.Context) (Settings, error) {
	return a.store.Settings(ctx, authz.MustTenant(ctx))
}

// SettingsPatch names the settings to change.
type SettingsPatch struct {
	RelaxIPValidation *bool
}

// UpdateSettings changes the tenant's license settings.
func (a *App) UpdateSettings(ctx context.Context, p SettingsPatch) (Settings, error) {
	return a.store.UpdateSettings(ctx, authz.MustTenant(ctx), func(s *Settings) error {
		if p.RelaxIPValidation != nil {
			s.RelaxIPValidation = *p.RelaxIPValidation
		}
		return nil
	})
}

// hostRole is the role the host of an activation plays: counted licenses are served
// by a license server, uncounted ones lock the client.
func (li LineItem) hostRole() licfile.Role {
	if counted[li.ModelType] {
		return licfile.RoleServer
	}
	return licfile.RoleNodelocked
}
