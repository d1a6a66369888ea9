/** Metadata keys of the monitoring routes (the decorators live in ../public.decorator.ts and ./roles.decorator.ts). */
export const PUBLIC_KEY = 'monitoring:public';
