package app

import (
	"context"
	"slices"
	"strings"
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
	// UpdateSettings applies change to the tenant's settings under their lock and
	// stores them with their DeviceSettingsUpdated event.
	UpdateSettings(ctx context.Context, tenant string, change func(*Settings)) (Settings, error)
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

// SettingsPaths are the device settings UpdateDeviceSettings changes.
var SettingsPaths = []string{"skip_account_check", "device_user_mode"}

// UpdateDeviceSettings changes the tenant's device settings named by paths (none:
// all of them) to those of s.
func (a *App) UpdateDeviceSettings(ctx context.Context, s Settings, paths []string) (Settings, error) {
	// A REST PATCH with an empty body arrives with the one path "".
	paths = slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return p == "" })
	if len(paths) == 0 {
		if s == (Settings{}) {
			return Settings{}, errs.Invalid("update_mask", "name a setting to change: %s", strings.Join(SettingsPaths, ", "))
		}
		paths = SettingsPaths
	}
	for _, p := range paths {
		if !slices.Contains(SettingsPaths, p) {
			return Settings{}, errs.Invalid("update_mask", "%q is not a device setting (settings: %s)", p, strings.Join(SettingsPaths, ", "))
		}
	}
	if slices.Contains(paths, "device_user_mode") {
		switch s.DeviceUserMode {
		case UserModeOff, UserModeFreeText, UserModeExistingUser:
		default:
			return Settings{}, errs.Invalid("settings.device_user_mode", "is DEVICE_USER_MODE_OFF, _FREE_TEXT or _EXISTING_USER")
		}
	}
	return a.store.UpdateSettings(ctx, authz.MustTenant(ctx), func(cur *Settings) {
		if slices.Contains(paths, "skip_account_check") {
			cur.SkipAccountCheck = s.SkipAccountCheck
		}
		if slices.Contains(paths, "device_user_mode") {
			cur.DeviceUserMode = s.DeviceUserMode
		}
	})
}
