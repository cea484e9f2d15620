export declare const RECEIVER_HOST: string;
export declare function startReceiver(): Promise<{
	origin: string;
	// biome-ignore lint/suspicious/noExplicitAny: miniflare hands its own Request class
	forward(request: any): Promise<Response | null>;
	close(): Promise<void>;
}>;
