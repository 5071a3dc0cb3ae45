"""A batch's traceability record: production stages (events), their EPCIS 2.0 form, the product passport."""
