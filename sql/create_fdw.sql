-- The wrapper itself: CREATE EXTENSION partnerstack is all a user needs before CREATE SERVER.
CREATE FOREIGN DATA WRAPPER partnerstack
  HANDLER partnerstack_fdw_handler
  VALIDATOR partnerstack_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER partnerstack IS
  'PartnerStack Vendor API: customers, partnerships, deals, leads, transactions, rewards, ...';
