"""The only package that talks to Databricks: OAuth M2M and the Statement Execution API."""
