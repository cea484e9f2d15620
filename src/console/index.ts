/**
 * The console: server-rendered pages over the public API (`client/api.ts`),
 * registered in the order the router should see them.
 */
import type { App } from "../platform/app-env";
import { registerConsoleAuditLog } from "./pages/audit-log";
import { registerConsoleDomains } from "./pages/domains";
import { registerConsoleEmailLinks } from "./pages/email-links";
import { registerConsoleKeys } from "./pages/keys";
import { registerConsoleLockdown } from "./pages/lockdown";
import { registerConsoleMembers } from "./pages/members";
import { registerConsoleReauth } from "./pages/reauth";
import { registerConsoleReport } from "./pages/report";
import { registerConsoleSecurity } from "./pages/security";
import { registerConsoleSettings } from "./pages/settings";
import { registerConsoleAuth } from "./pages/sign-in";
import { registerConsoleSso } from "./pages/sso";

export function registerConsole(app: App) {
	// The service's front door is the console; `/console/` is the same page as `/console`.
	app.get("/", (c) => c.redirect("/console", 302));
	app.get("/console/", (c) => c.redirect("/console", 301));
	registerConsoleAuth(app);
	registerConsoleSecurity(app);
	registerConsoleKeys(app);
	registerConsoleMembers(app);
	registerConsoleEmailLinks(app);
	registerConsoleAuditLog(app);
	registerConsoleReport(app);
	registerConsoleSettings(app);
	registerConsoleLockdown(app);
	registerConsoleDomains(app);
	registerConsoleSso(app);
	registerConsoleReauth(app);
}
