package app

import (
	"context"
	"time"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
)

// Device user modes (SPEC DEV-12).
const (
	UserModeOff          = "off"
	UserModeFreeText     = "free_text"
	UserModeExistingUser = "existing_user"
)

// Settings are a tenant's device settings; a tenant that never changed them has the
// defaults (the account check on, free-text device users).
type Settings struct {
	SkipAccountCheck bool
	DeviceUserMode   string
	UpdateTime       time.Time
}

// DefaultSettings are those of a tenant without a settings row.
var DefaultSettings = Settings{DeviceUserMode: UserModeFreeText}

// SettingsStore keeps the tenant's device settings.
type SettingsStore interface {
	GetSettings(ctx context.Context, tenant string) (Settings, error)
	// UpdateSettings stores s with its DeviceSettingsUpdated event.
	UpdateSettings(ctx context.Context, tenant string, s Settings) (Settings, error)
}

// Users is what the service needs of the account service's users.
type Users interface {
	// UserWithEmail reports whether a user of the request's tenant has the email.
	UserWithEmail(ctx context.Context, email string) (bool, error)
}

// GetDeviceSettings reads the tenant's device settings.
func (a *App) GetDeviceSettings(ctx context.Context) (Settings, error) {
	return a.store.GetSettings(ctx, authz.MustTenant(ctx))
}

// UpdateDeviceSettings replaces the tenant's device settings; an unspecified device
// user mode keeps the current one.
func (a *App) UpdateDeviceSettings(ctx context.Context, s Settings) (Settings, error) {
	tenant := authz.MustTenant(ctx)
	switch s.DeviceUserMode {
	case UserModeOff, UserModeFreeText, UserModeExistingUser:
	case "":
		current, err := a.store.GetSettings(ctx, tenant)
		if err != nil {
			return Settings{}, err
		}
		s.DeviceUserMode = current.DeviceUserMode
	default:
		return Settings{}, errs.Invalid("settings.device_user_mode", "is OFF, FREE_TEXT or EXISTING_USER")
	}
	return a.store.UpdateSettings(ctx, tenant, s)
}
