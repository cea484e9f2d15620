import { describe, expect, it } from "vitest";
import { COMMON_LONG_PASSWORDS } from "../../src/security/generated/common-passwords";
import { CURRENT_PARAMS, hashPassword, verifyPassword } from "../../src/security/password-hash";
import { checkPassword, PASSWORD_MIN_LENGTH, passwordPolicyFrom } from "../../src/security/password-policy";

const policy = passwordPolicyFrom("12");
const rules = (password: string, email?: string, composition = false) =>
	checkPassword(password, { ...policy, composition }, email).map((v) => v.rule);

describe("password policy", () => {
	it.each([
		["correct horse battery", [], "a long passphrase"],
		["short-pass1", ["min_length"], "11 characters"],
		["exactly12chr", [], "12 characters"],
		["x".repeat(256), [], "256 characters"],
		["x".repeat(257), ["max_length"], "257 characters"],
		["パスワードはとても長いです", [], "Unicode, 13 code points"],
		["🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐", ["min_length"], "11 emoji (22 UTF-16 units) is 11 characters"],
		["🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐", [], "12 emoji"],
		["password1234", ["common_password"], "in the blocklist"],
		["PLUM-KETTLE-ORBIT", [], "not in the list"],
		["QWERTYUIOPAS", ["common_password"], "in the SecLists list of 12+ characters"],
		["1q2w3e4r5t6y", ["common_password"], "keyboard pattern from the list"],
		["my keyward password", ["contains_product_name"], "product name"],
		["MyKeyWard-2026!", ["contains_product_name"], "product name, any case"],
	])("%s → %j (%s)", (password, expected) => {
		expect(rules(password)).toEqual(expected);
	});

	it("refuses a password that is little more than the email address, not one that merely contains its local part", () => {
		const ada = "Ada.Lovelace@example.com";
		expect(rules("ada.lovelace-rocks", ada)).toEqual(["contains_email"]);
		expect(rules("ada.lovelace2026!", ada)).toEqual(["contains_email"]);
		expect(rules("ada.lovelace@example.com!!", ada)).toEqual(["contains_email"]);
		expect(rules("example.com-ada.lovelace", ada)).toEqual(["contains_email"]);
		// Over half of it is the address's local part, however long the rest.
		expect(rules("ada.lovelace ada.lovelace ada.lovelace 2026!!", ada)).toEqual(["contains_email"]);
		// Padding, the words reordered or run together, an exact half (found by a review of this rule).
		expect(rules("ada.lovelace!!!!!!!!!!!!", ada)).toEqual(["contains_email"]);
		expect(rules("ada.lovelacelovelace.ada", ada)).toEqual(["contains_email"]);
		expect(rules("adalovelace-adalovelace", ada)).toEqual(["contains_email"]);
		expect(rules("john.smithsmith.john", "john.smith@acme.io")).toEqual(["contains_email"]);
		expect(rules("ada.lovelaceQmz7Rw2Kp", ada)).toEqual(["contains_email"]);
		// A short local part: the whole address still counts.
		expect(rules("al@example.com-al@example.com", "al@example.com")).toEqual(["contains_email"]);
		// Passphrases in which the local part is one word among others.
		expect(rules("a perfectly long dev passphrase", "dev@example.com")).toEqual([]);
		expect(rules("ada.lovelace loves long walks", ada)).toEqual([]);
		expect(rules("a-very-long-passphrase", "a@example.com")).toEqual([]);
	});

	it("speaks to a person: no rule names or validation jargon in the messages", () => {
		const all = [
			...checkPassword("short", policy),
			...checkPassword("password1234", policy),
			...checkPassword("x".repeat(257), policy),
			...checkPassword("ada.lovelace2026!", policy, "ada.lovelace@example.com"),
			...checkPassword("my keyward password", policy),
			...checkPassword("all lowercase words here", { ...policy, composition: true }),
		];
		expect(new Set(all.map((v) => v.rule))).toEqual(
			new Set([
				"common_password",
				"composition",
				"contains_email",
				"contains_product_name",
				"max_length",
				"min_length",
			]),
		);
		for (const { message } of all) {
			expect(message).toMatch(/^[A-Z]/);
			expect(message).not.toMatch(/_|:|expected|>=|Too small/);
		}
	});

	it("applies composition only when the account asks for it", () => {
		expect(rules("all lowercase words here")).toEqual([]);
		expect(rules("all lowercase words here", undefined, true)).toEqual(["composition"]);
		expect(rules("Mixed Case 4 words!", undefined, true)).toEqual([]);
	});

	it("counts after NFKC normalisation", () => {
		// U+FB01 (ﬁ) becomes "fi": 6 ligatures are 12 characters after NFKC.
		expect(rules("ﬁﬁﬁﬁﬁﬁ")).toEqual([]);
	});

	it("never lets the configured minimum fall below 12", () => {
		expect(passwordPolicyFrom("8").minLength).toBe(12);
		expect(passwordPolicyFrom("16").minLength).toBe(16);
		expect(passwordPolicyFrom(undefined).minLength).toBe(12);
	});
});

describe("password hashing (scrypt, native)", () => {
	it("hashes to a self-describing string and verifies, without truncation", async () => {
		const long = `${"a".repeat(200)}-tail`;
		const stored = await hashPassword(long);
		expect(stored).toMatch(/^\$scrypt\$ln=15,r=8,p=3\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
		expect(await verifyPassword(long, stored)).toEqual({ valid: true, needsRehash: false });
		expect((await verifyPassword(`${"a".repeat(200)}-tai1`, stored)).valid).toBe(false);
		expect((await verifyPassword("a".repeat(200), stored)).valid).toBe(false);
	});

	it("salts every hash", async () => {
		expect(await hashPassword("same password here")).not.toBe(await hashPassword("same password here"));
	});

	it("treats NFC and NFD spellings of a password as the same password", async () => {
		const stored = await hashPassword("café au lait, s'il vous plaît");
		expect((await verifyPassword("cafe\u0301 au lait, s'il vous plai\u0302t", stored)).valid).toBe(true);
	});

	it("asks for a rehash when the parameters are not the current ones", async () => {
		const old = await hashPassword("an older hash of mine", { ln: 14, r: 8, p: 1 });
		expect(await verifyPassword("an older hash of mine", old)).toEqual({ valid: true, needsRehash: true });
		expect(CURRENT_PARAMS).toEqual({ ln: 15, r: 8, p: 3 });
	});

	it("refuses malformed stored hashes", async () => {
		expect(await verifyPassword("anything at all", "plaintext")).toEqual({ valid: false, needsRehash: false });
	});
});

describe("the common-password blocklist (ASVS 6.2.4)", () => {
	it("holds at least 3,000 common passwords that satisfy the length policy, and refuses them", () => {
		const long = COMMON_LONG_PASSWORDS.filter((p) => [...p].length >= PASSWORD_MIN_LENGTH);
		expect(long.length).toBeGreaterThanOrEqual(3_000);
		const policy = passwordPolicyFrom(undefined);
		for (const common of ["1qaz2wsx3edc", "qwertyuiop123", "iloveyoubaby", "PASSWORD1234", "sanfrancisco"])
			expect(checkPassword(common, policy).map((v) => v.rule)).toContain("common_password");
		expect(checkPassword("a passphrase nobody has used", policy)).toEqual([]);
	});
});
