package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-dev/tessera/services/platform/authz"
	"github.com/tessera-dev/tessera/services/platform/errs"
	"github.com/tessera-dev/tessera/services/platform/events"
	"github.com/tessera-dev/tessera/services/platform/filter"
	"github.com/tessera-dev/tessera/services/platform/mail"
)

// Store is the persistence the use cases need.
type Store interface {
	// CreateTenant stores a tenant with its home account and administrator, and
	// returns when they were created.
	CreateTenant(ctx context.Context, t Tenant, home Account, admin User) (time.Time, error)
	CreateAccount(ctx context.Context, tenant string, a Account, parent string) (Account, error)
	GetAccount(ctx context.Context, tenant, id string) (Account, error)
	ListAccounts(ctx context.Context, tenant string, only []string, q filter.Query) ([]Account, string, error)
	ListUsers(ctx context.Context, tenant string, accounts []string, q filter.Query) ([]User, string, error)
	CreateUser(ctx context.Context, tenant string, u User) (User, error)
	GetUser(ctx context.Context, tenant, id string) (User, error)
	UserByUsername(ctx context.Context, tenant, username string) (User, error)
	TokenByHash(ctx context.Context, hash []byte) (Token, User, error)
	TokenStore
	OrgStore
	RoleStore
	RecordFailedLogin(ctx context.Context, tenant, userID string, lockAfter int) (bool, error)
	ResetFailedLogins(ctx context.Context, tenant, userID string) error
	Reactivate(ctx context.Context, tenant, userID, by string) (User, error)
	AdminEmails(ctx context.Context, tenant string, accountIDs []string) ([]string, error)
	SetPassword(ctx context.Context, tenant, userID, hash string, mustChange bool) error
	SetSecret(ctx context.Context, tenant, userID, question, answerHash string) error
	HierarchyStore
	ListAuditEvents(ctx context.Context, tenant string, q filter.Query) ([]events.AuditEvent, string, error)
	UpdateUser(ctx context.Context, tenant, id string, fn func(*User) error) (User, error)
	UpdateAccount(ctx context.Context, tenant, id string, fn func(*Account) error) (Account, error)
	// Administrators lists up to limit administrators of the accounts, by account,
	// last name, first name and user ID, after the given one (nil: from the start).
	Administrators(ctx context.Context, tenant string, accounts []string, after *Administrator, limit int) ([]Administrator, error)
	CreateAccountWithUser(ctx context.Context, tenant string, acc Account, u User) (User, error)
	CreateKeySession(ctx context.Context, s KeySession) error
	KeySessionByHash(ctx context.Context, hash []byte) (KeySession, error)
	ReplaceAdministrator(ctx context.Context, tenant, accountID, userID, reason string) ([]string, error)
	CreatePartnerCustomer(ctx context.Context, tenant string, acc Account, parent string, admin User, sendAt time.Time) (PartnerCustomer, bool, error)
	LeaseDueEmails(ctx context.Context, lease time.Duration, limit int) ([]ScheduledEmail, error)
	MarkEmailSent(ctx context.Context, id uuid.UUID) error
	MarkEmailFailed(ctx context.Context, id uuid.UUID, reason string, retryAt time.Time) error
	PlanDigests(ctx context.Context, day time.Time) error
}

// Mailer sends email.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Config tunes the use cases.
type Config struct {
	Password   PasswordParams
	SessionTTL time.Duration
	// LockoutAfter consecutive wrong passwords make a (non-shared) user inactive;
	// 0 turns lockout off.
	LockoutAfter int
	// EmailPoll is how often scheduled emails are looked for (ACC-15).
	EmailPoll time.Duration
	// PublicURL is where people reach the gateway, for links in emails.
	PublicURL string
	// DigestHour is the UTC hour from which the day's expiring-entitlement digests
	// go out; negative turns them off.
	DigestHour int
}

// App is the account service's use cases.
type App struct {
	store    Store
	mailer   Mailer
	holdings Holdings
	keys     EntitlementKeys
	plans    ServicePlans
	// productLines checks the product lines users are limited to.
	productLines ProductLines
	expiring     Expiring
	cfg          Config
	// emailWake nudges the scheduled-email worker.
	emailWake chan struct{}
	now       func() time.Time
	// checkPassword compares a password with a stored hash (CheckPassword; tests count
	// its calls to prove every sign-in path does the same work).
	checkPassword func(encoded, password string) bool
	// decoyHash is what an unknown user's password is compared with: a hash of the
	// configured cost, so that the comparison takes as long as a real one.
	decoyHash string
}

// Neighbours are what the use cases need of other services.
type Neighbours struct {
	Holdings Holdings
	Keys     EntitlementKeys
	Plans    ServicePlans
	Lines    ProductLines
	Expiring Expiring
}

// New returns the use cases.
func New(store Store, mailer Mailer, n Neighbours, cfg Config) *App {
	if cfg.Password.Time == 0 {
		cfg.Password = DefaultPasswordParams
	}
	if cfg.EmailPoll == 0 {
		cfg.EmailPoll = 10 * time.Second
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	decoy, err := HashPassword(cfg.Password, GeneratePassword())
	if err != nil {
		panic(err) // the system's random source failed
	}
	return &App{
		store: store, mailer: mailer, holdings: n.Holdings, keys: n.Keys, plans: n.Plans, productLines: n.Lines, expiring: n.Expiring, cfg: cfg, now: time.Now,
		emailWake: make(chan struct{}, 1), checkPassword: CheckPassword, decoyHash: decoy,
	}
}

// canSeeAccount hides accounts the caller may not act for.
func canSeeAccount(ctx context.Context, id string) error {
	p, _ := authz.FromContext(ctx)
	if !authz.CanActFor(p, id) {
		return errs.NotFound("account", id)
	}
	return nil
}
