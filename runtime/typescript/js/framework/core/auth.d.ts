// Types of the platform's auth hooks (core/auth): locally every request is let through.
export declare function verifyIssuer(request: Request, env: any): Promise<boolean>;
export declare function requireAuthenticated(request: Request, env: any): Promise<boolean>;
