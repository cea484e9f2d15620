/** JSON values as they cross a Durable Object call or a D1 column (structured-clone safe). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };
