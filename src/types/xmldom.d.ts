/**
 * The few parts of @xmldom/xmldom 0.8 that src/sso/saml-response.ts uses. Its own typings pull the
 * browser DOM library into the whole program (`/// <reference lib="dom" />`), which changes
 * Workers' WebCrypto types everywhere; tsconfig.json maps the module here instead. 0.8 is the
 * line xml-crypto depends on, so the bundle holds one copy of it.
 */
declare module "@xmldom/xmldom" {
	export interface Node {
		readonly nodeType: number;
		readonly namespaceURI: string | null;
		readonly localName: string | null;
		readonly childNodes: ArrayLike<Node>;
		readonly textContent: string | null;
	}
	export interface Element extends Node {
		getAttribute(name: string): string | null;
		getElementsByTagNameNS(namespace: string, localName: string): ArrayLike<Element>;
	}
	export interface Document extends Node {
		readonly documentElement: Element | null;
		getElementsByTagNameNS(namespace: string, localName: string): ArrayLike<Element>;
	}
	type Report = (message: string) => void;
	export class DOMParser {
		constructor(options?: { errorHandler?: { warning?: Report; error?: Report; fatalError?: Report } });
		parseFromString(source: string, mimeType: string): Document;
	}
}
