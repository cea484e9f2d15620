/** A `.bin` import is a Data module (wrangler's default rule): the file's bytes. */
declare module "*.bin" {
	const bytes: ArrayBuffer;
	export default bytes;
}
