// config.js: the provider's contact data and external links shown by the portal.
export const SUPPORT = {
  phone: '+49 (0)30 2598-0',
  phoneHref: 'tel:+493025980',
  mail: 'support@d-trust.net',
};
/** The card reader vendor's shop for the provider's customers. */
export const READER_SHOP = 'https://www.reiner-sct.com/';
